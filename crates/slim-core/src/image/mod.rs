//! What an image is: its reference, its configuration, its users.

pub mod config;
pub mod reference;
pub mod user;

pub use config::{Healthcheck, ImageSpec};
pub use reference::{ImageRef, ReferenceError};
pub use user::{UserError, UserSpec};
