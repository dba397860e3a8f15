//! Serve stage (placeholder until the HTTP surface lands on main).
use crate::config::Registry;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

pub struct ServeState;
impl ServeState {
    pub fn new(_registry: Arc<RwLock<Registry>>, _db: PathBuf, _api_token: Option<String>) -> Self {
        ServeState
    }
}
pub async fn serve(
    _listener: tokio::net::TcpListener,
    _state: ServeState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    shutdown.await;
    Ok(())
}
