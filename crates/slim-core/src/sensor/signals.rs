//! Signals the sensor receives: forwarded to the traced program, plus the flush timer.
//!
//! Handlers are installed without SA_RESTART so a blocked waitpid returns EINTR and the
//! event loop gets to act on the flags set here.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::unistd::Pid;

/// Signals passed on to the main child. SIGKILL and SIGSTOP cannot be caught; the rest
/// keep their default action in the sensor.
pub const FORWARDED: [Signal; 7] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

static MAIN_CHILD: AtomicI32 = AtomicI32::new(0);
static FLUSH_REQUESTED: AtomicBool = AtomicBool::new(false);
static TIMER_FIRED: AtomicBool = AtomicBool::new(false);

extern "C" fn forward(signal: libc::c_int) {
    let pid = MAIN_CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe and touches no memory of ours.
        unsafe {
            libc::kill(pid, signal);
        }
    }
    if signal == libc::SIGTERM || signal == libc::SIGINT {
        // the container may be killed soon after: get the report out now
        FLUSH_REQUESTED.store(true, Ordering::SeqCst);
    }
}

extern "C" fn timer_fired(_signal: libc::c_int) {
    TIMER_FIRED.store(true, Ordering::SeqCst);
}

fn install_handler(signal: Signal, handler: extern "C" fn(libc::c_int)) -> Result<(), Errno> {
    let action = SigAction::new(
        SigHandler::Handler(handler),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handlers only touch atomics and call kill.
    unsafe { sigaction(signal, &action) }.map(|_| ())
}

/// Forward the catchable termination and job signals to `main_child`.
pub fn forward_to(main_child: Pid) -> Result<(), Errno> {
    MAIN_CHILD.store(main_child.as_raw(), Ordering::SeqCst);
    for signal in FORWARDED {
        install_handler(signal, forward)?;
    }
    Ok(())
}

/// Deliver SIGALRM every `interval`, so the event loop wakes up to flush the report even
/// while no tracee does anything.
pub fn start_timer(interval: Duration) -> Result<(), Errno> {
    install_handler(Signal::SIGALRM, timer_fired)?;
    let tick = libc::timeval {
        tv_sec: interval.as_secs() as libc::time_t,
        tv_usec: interval.subsec_micros() as libc::suseconds_t,
    };
    let timer = libc::itimerval {
        it_interval: tick,
        it_value: tick,
    };
    // SAFETY: plain syscall with a valid struct; no old value is requested.
    let rc = unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) };
    Errno::result(rc).map(|_| ())
}

/// Whether SIGTERM or SIGINT arrived since the last call.
pub fn take_flush_request() -> bool {
    FLUSH_REQUESTED.swap(false, Ordering::SeqCst)
}

/// Whether the flush timer fired since the last call.
pub fn take_timer_tick() -> bool {
    TIMER_FIRED.swap(false, Ordering::SeqCst)
}
