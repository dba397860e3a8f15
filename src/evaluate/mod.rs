//! Evaluate stage: pure functions of stored data and `now`.
//! `infer` reads a page and concludes a status with quoted evidence.

pub mod infer;
