//! connect-sim: a local Amazon Connect that answers `GetCurrentUserData` and the routing-profile,
//! queue, user and hierarchy-group list calls over the same REST-JSON wire as the real service,
//! with data from a scenario file or a seeded generator.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! let sim = connect_sim::Sim::generated(connect_sim::GeneratorConfig::default(), connect_sim::SimConfig::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! connect_sim::serve(listener, sim).await
//! # }
//! ```

pub mod generator;
pub mod http;
pub mod scenario;
pub mod sim;
pub mod wire;
pub mod world;

pub use generator::GeneratorConfig;
pub use scenario::{Scenario, ScenarioError};
pub use sim::{FrameInfo, ListKind, RateLimit, RequestRecord, Sim, SimConfig, Stats};

/// Serves the simulator on `listener` until the task is dropped or the listener fails.
pub async fn serve(listener: tokio::net::TcpListener, sim: Sim) -> std::io::Result<()> {
    axum::serve(listener, http::router(sim)).await
}
