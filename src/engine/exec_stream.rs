//! A command's stdin and stdout in a running container as one byte stream (an attached
//! exec): what probes speak HTTP over when they reach the app from inside its network.

use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncWrite};

type Reader = Pin<Box<dyn AsyncRead + Send>>;
type Writer = Pin<Box<dyn AsyncWrite + Send>>;

/// The command's stdout to read and stdin to write (`io`); its stderr is kept aside.
pub struct ExecStream {
    pub io: tokio::io::Join<Reader, Writer>,
    pub stderr: Stderr,
}

/// What the command wrote to stderr so far (shared with the stream that collects it).
#[derive(Clone, Default)]
pub struct Stderr(Arc<Mutex<Vec<u8>>>);

impl Stderr {
    pub fn push(&self, bytes: &[u8]) {
        if let Ok(mut kept) = self.0.lock() {
            kept.extend_from_slice(bytes);
        }
    }

    pub fn text(&self) -> String {
        self.0
            .lock()
            .map(|kept| String::from_utf8_lossy(&kept).trim().to_string())
            .unwrap_or_default()
    }
}
