//! A strict simulator of Apple's Messages for Business service, for tests, demos and load.
//!
//! It owns two sides of Apple:
//! - the gateway an MSP calls (`/v1/message`, `/v1/authenticate`, `/v1/preUpload`, upload,
//!   `/v1/preDownload`, download, `/v1/decodePayload`, `/v1/encodePayload`,
//!   `/v1/constructPayload`), validating every request as Apple documents it, answering with
//!   Apple's status codes, storing blobs in memory and recording every accepted message;
//! - customer devices that send JWT-signed, gzip-compressed webhooks to an MSP's `/message`.
//!
//! A JSON control API drives devices, injects faults and reads what was received.
//!
//! Its validation is written independently of `parley-apple`'s model, on raw JSON, so a bug in
//! the model cannot hide behind a simulator that shares it. It must never be used to talk to
//! Apple.

mod blob;
mod config;
mod control;
mod device;
mod error;
mod faults;
mod gateway;
mod server;
mod state;
mod validate;

pub use blob::BlobStore;
pub use config::SimConfig;
pub use device::{Device, DeviceKind, DeviceSender, Sent};
pub use error::{Rejection, SimError};
pub use faults::{Fault, FaultScope};
pub use server::Simulator;
pub use state::{Attempt, Received, SimState};
