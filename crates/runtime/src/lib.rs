//! What every Parley process needs around its business logic: one configuration model for
//! the whole platform (loaded once from defaults, a TOML file and `PARLEY_*` variables, then
//! validated), shutdown orchestration on SIGTERM/SIGINT, and the admin server (`/livez`,
//! `/readyz` that touches NATS and Redis, `/metrics`), and the in-order gate's protocol
//! around every stage's handler ([`ordered`]).
//!
//! It must not read the process environment itself: the binary passes the variables in, so
//! tests and embedders control them. It must not hold business logic; services extend the
//! configuration model (adding sections) rather than forking it.

mod admin;
mod backends;
mod blobs;
mod config;
mod error;
pub mod ordered;
mod secret;
mod service;
mod shutdown;

pub use admin::{AdminServer, BusCheck, ReadinessCheck, StoreCheck};
pub use backends::Backends;
pub use blobs::open_blob_store;
pub use config::{
    AdminConfig, BlobStoreConfig, BusinessConfig, EventSettings, IngestConfig, LogFormatSetting,
    MspConfig, NatsConfig, OutboundConfig, PlatformConfig, RedisConfig, RoutingSettings,
    TelemetrySettings, load_config,
};
pub use error::{Error, Result};
pub use secret::Secret;
pub use service::{ServiceArgs, ServiceContext, run_service, telemetry_config};
pub use shutdown::{Shutdown, shutdown_on_signals};
