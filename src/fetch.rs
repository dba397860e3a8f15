//! Fetch stage (owned by the fetch work; placeholder until it lands).
