//! Probes that exercise the app during analysis and check the slim image answers the same.

pub mod http;

pub use http::{HttpAnswer, HttpConnection, HttpProbe, HttpProber, ProbeError};
