//! How long-running library work tells the user what it is doing, without knowing how
//! (spinner, plain lines or nothing) that is shown.

/// Receives short status messages ("waiting for port 80", "reading the trace").
pub trait Progress: Send + Sync {
    fn step(&self, message: &str);
}

/// Discards all messages.
pub struct Silent;

impl Progress for Silent {
    fn step(&self, _message: &str) {}
}
