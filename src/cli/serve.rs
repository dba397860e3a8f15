//! `serve`: the HTTP surface alone (the daemon `run --listen` embeds the same
//! server). Reads `CAPWATCH_API_TOKEN` to enable `POST /api/v1/reviews`,
//! sign-in and the dashboard's forms, and `CAPWATCH_SECRET` for the e-mail's
//! action links.

use super::{database_path, env_var, load, runtime};
use crate::serve::{self as http, ServeState};
use crate::store::Store;
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, RwLock};

/// Serve the dashboard, API, feeds and metrics on `listen` until Ctrl-C or SIGTERM.
pub fn serve(config: &Path, listen: SocketAddr) -> Result<ExitCode> {
    let reg = load(config)?;
    let db = database_path(&reg);
    // Create and migrate the database once, so a server started before the
    // first check answers with empty pages instead of errors.
    let mut store = Store::open(&db)?;
    store.sync_registry(&reg, jiff::Timestamp::now())?;
    drop(store);
    let token = env_var("CAPWATCH_API_TOKEN");
    let writable = token.is_some();
    let link_key = crate::notify::link::LinkKey::from_env(&env_var);
    let actions = link_key.is_some();
    let state = ServeState::with_link_key(Arc::new(RwLock::new(reg)), db, token, link_key);
    runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}; is another server using it?"))?;
        let addr = listener.local_addr()?;
        println!(
            "serving http://{addr}/ ({}; {}); Ctrl-C stops",
            if writable {
                "POST /api/v1/reviews, sign-in and the dashboard's reviews enabled by CAPWATCH_API_TOKEN"
            } else {
                "read-only; set CAPWATCH_API_TOKEN to allow reviews over the API and sign-in"
            },
            if actions {
                "e-mail action links enabled by CAPWATCH_SECRET"
            } else {
                "no e-mail action links without CAPWATCH_SECRET"
            }
        );
        http::serve(listener, state, shutdown_signal())
            .await
            .context("the HTTP server stopped")
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Resolves on Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
