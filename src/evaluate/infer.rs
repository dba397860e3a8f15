//! Status inference (owned by the inference work; placeholder until it lands).
