//! A command's stdin and stdout in a running container as one byte stream (an attached
//! exec): what probes speak HTTP over when they reach the app from inside its network.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

type Reader = Pin<Box<dyn AsyncRead + Send>>;
type Writer = Pin<Box<dyn AsyncWrite + Send>>;

/// Reads the command's stdout, writes its stdin; its stderr is kept aside.
pub struct ExecStream {
    io: tokio::io::Join<Reader, Writer>,
    stderr: Stderr,
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

impl ExecStream {
    pub fn new(stdout: Reader, stdin: Writer, stderr: Stderr) -> ExecStream {
        ExecStream {
            io: tokio::io::join(stdout, stdin),
            stderr,
        }
    }

    /// A handle on the command's stderr that outlives the stream.
    pub fn stderr(&self) -> Stderr {
        self.stderr.clone()
    }
}

impl AsyncRead for ExecStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for ExecStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
