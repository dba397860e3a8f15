//! capwatch keeps advisory guides honest: it watches the official pages behind
//! each claim, keeps every distinct version, infers the documented lifecycle
//! status, and tells owners when a claim is stale, drifting or unreadable.
//!
//! The modules follow the pipeline: `config` → `schedule` → `fetch` → `extract`
//! → `store` → `evaluate` → `notify` → `serve`; `pipeline` runs one check cycle
//! and is shared by the one-shot `check` and the daemon.

pub mod accuracy;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod diff;
pub mod evaluate;
pub mod extract;
pub mod fetch;
pub mod model;
pub mod notify;
pub mod outbox;
pub mod pipeline;
pub mod render;
pub mod report;
pub mod schedule;
pub mod serve;
pub mod store;
