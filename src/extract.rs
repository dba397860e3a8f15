//! Extract stage (owned by the inference work; placeholder until it lands).
