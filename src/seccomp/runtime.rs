//! What the container runtime itself does between applying the profile and starting the
//! app: the profile must allow it, or the container never starts. Measured with runc 1.1.5
//! (Docker 20.10) by taking each call out of a working profile in turn, as root and as a
//! non-root user whose app reopens /dev/stderr; the Go runtime's
//! own calls are included because runc's init is a Go program whose scheduler and signal
//! handling run at moments no single measurement sees (a missing `rt_sigreturn` crashed
//! one start in four). Another runtime may need more: verification runs the slim image
//! under the profile on the user's own engine, so such a gap shows up there.

/// (syscall, why the runtime needs it)
pub const RUNTIME_SYSCALLS: &[(&str, &str)] = &[
    // runc's init after the profile is applied, in order
    ("capget", "reading the capability sets to apply"),
    ("capset", "applying the container's capabilities"),
    ("prctl", "the capability bounding set and keep-caps"),
    ("getppid", "checking its parent is still there"),
    ("read", "reading /proc/self/status"),
    ("openat", "opening /proc/self/fd and the exec FIFO"),
    ("fstatfs", "checking /proc/self/fd is on procfs"),
    ("getdents64", "listing its open file descriptors"),
    ("fcntl", "marking inherited descriptors close-on-exec"),
    ("close", "closing its pipes and the FIFO"),
    ("close_range", "closing descriptors (newer runc)"),
    ("fstat", "checking stdin before switching user"),
    (
        "fchown",
        "giving a non-root user its stdin, stdout and stderr (else /dev/stderr is refused)",
    ),
    ("newfstatat", "checking /dev/null before switching user"),
    ("setgroups", "switching to the container's user"),
    ("setgid", "switching to the container's user"),
    ("setuid", "switching to the container's user"),
    ("chdir", "entering the working directory"),
    (
        "getcwd",
        "checking the working directory is inside the container",
    ),
    ("write", "signalling the FIFO that it is ready"),
    ("faccessat2", "finding the program to exec"),
    ("execve", "starting the app"),
    // Go's runtime inside runc's init: threads, signals, memory, scheduling
    ("futex", "Go runtime: thread wake-ups"),
    (
        "rt_sigreturn",
        "Go runtime: returning from its preemption signal",
    ),
    ("rt_sigprocmask", "Go runtime: signal masks of new threads"),
    ("sigaltstack", "Go runtime: signal stacks of new threads"),
    ("clone", "Go runtime: a new thread while init blocks"),
    ("mmap", "Go runtime: memory for stacks and heap"),
    ("munmap", "Go runtime: returning memory"),
    ("madvise", "Go runtime: returning memory"),
    ("nanosleep", "Go runtime: its monitor thread sleeps"),
    ("sched_yield", "Go runtime: spinning locks"),
    ("tgkill", "Go runtime: preempting a goroutine"),
    ("getpid", "Go runtime: preempting a goroutine"),
    ("gettid", "Go runtime: thread identity"),
    ("epoll_pwait", "Go runtime: its network poller"),
    ("epoll_ctl", "Go runtime: its network poller"),
    ("exit", "Go runtime: a thread ending"),
    ("exit_group", "any process must be able to end"),
    (
        "restart_syscall",
        "the kernel restarts a call a signal interrupted",
    ),
];
