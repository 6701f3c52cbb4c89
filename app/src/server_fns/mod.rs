//! Server functions, one file per noun. Each is a few lines: get the service, call one method.

pub mod access;
pub mod civitai;
pub mod downloads;
pub mod export;
pub mod models;
pub mod scan;
pub mod search;
