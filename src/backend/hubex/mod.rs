//! HubEx: the first [`TaskBackend`](crate::backend::TaskBackend).
//!
//! `client` talks to a tenant, `types` are the wire shapes, `sim` is an
//! in-process tenant for demos and tests.

pub mod check;
pub mod client;
pub mod defaults;
pub mod read;
pub mod sim;
mod task_backend;
pub mod types;

pub use client::HubexClient;
