#![recursion_limit = "256"]
//! Everything shared by the server and the browser: wire types, the service port,
//! server functions, and the Leptos components and pages.

pub mod browser;
pub mod clipboard;
pub mod components;
pub mod domain;
pub mod format;
pub mod lazy_views;
pub mod pages;
pub mod panel;
pub mod paste;
#[cfg(feature = "ssr")]
pub mod port;
pub mod server_fns;
pub mod state;
pub mod upload;

mod shell;

pub use shell::{shell, App};
