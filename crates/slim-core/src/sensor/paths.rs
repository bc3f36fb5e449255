//! Turning the paths a tracee names into absolute paths: joining with the cwd or a dirfd,
//! and lexical clean-up that never changes which file a path names.

use nix::unistd::Pid;

/// Join `relative` onto the absolute directory `base`, unless it is absolute itself.
pub fn join(base: &str, relative: &str) -> String {
    if relative.starts_with('/') {
        normalize(relative)
    } else {
        normalize(&format!("{base}/{relative}"))
    }
}

/// Make an absolute path canonical in spelling: collapse `//`, drop `.` components and a
/// trailing slash. `..` stays: it can only be resolved by following symlinks.
pub fn normalize(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 1);
    for component in path.split('/') {
        if component.is_empty() || component == "." {
            continue;
        }
        out.push('/');
        out.push_str(component);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// The kernel marks links to unlinked files (in /proc/PID/fd, /proc/PID/cwd) this way.
pub fn strip_deleted(link: &str) -> &str {
    link.strip_suffix(" (deleted)").unwrap_or(link)
}

/// `/proc/self` and `/proc/thread-self` name the sensor when the sensor reads them, so
/// they are rewritten to the tracee they meant.
pub fn rewrite_proc_self(path: String, tgid: Pid, tid: Pid) -> String {
    let rewrite = |rest: &str, target: String| {
        if rest.is_empty() || rest.starts_with('/') {
            Some(format!("{target}{rest}"))
        } else {
            None
        }
    };
    let rewritten = if let Some(rest) = path.strip_prefix("/proc/self") {
        rewrite(rest, format!("/proc/{tgid}"))
    } else if let Some(rest) = path.strip_prefix("/proc/thread-self") {
        rewrite(rest, format!("/proc/{tgid}/task/{tid}"))
    } else {
        None
    };
    rewritten.unwrap_or(path)
}

/// What a /proc symlink of a tracee points to, if it is a path in the file system
/// (fds can also be sockets, pipes, anon inodes). The outer error is a failed readlink.
pub fn read_proc_link(link: &str) -> std::io::Result<Option<String>> {
    let target = std::fs::read_link(link)?;
    let Some(target) = target.to_str() else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "link target is not UTF-8",
        ));
    };
    if !target.starts_with('/') {
        return Ok(None);
    }
    Ok(Some(normalize(strip_deleted(target))))
}

/// The cwd of a tracee, straight from the kernel.
pub fn read_cwd(tid: Pid) -> std::io::Result<Option<String>> {
    read_proc_link(&format!("/proc/{tid}/cwd"))
}

/// The file open on `fd` in a tracee.
pub fn read_fd_path(tid: Pid, fd: i32) -> std::io::Result<Option<String>> {
    read_proc_link(&format!("/proc/{tid}/fd/{fd}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_collapses_slashes_and_dots() {
        assert_eq!(normalize("/"), "/");
        assert_eq!(normalize("//"), "/");
        assert_eq!(normalize("/usr//lib/./x/"), "/usr/lib/x");
        assert_eq!(normalize("/./."), "/");
        assert_eq!(normalize("/a/../b"), "/a/../b");
        assert_eq!(normalize("/a/.hidden/..x"), "/a/.hidden/..x");
    }

    #[test]
    fn join_uses_base_only_for_relative_paths() {
        assert_eq!(join("/srv/app", "x.py"), "/srv/app/x.py");
        assert_eq!(join("/srv/app", "./lib/../y"), "/srv/app/lib/../y");
        assert_eq!(join("/", "etc/hosts"), "/etc/hosts");
        assert_eq!(join("/srv/app", "/etc//hosts"), "/etc/hosts");
        assert_eq!(join("/srv/app", "."), "/srv/app");
        assert_eq!(join("/srv/app", ""), "/srv/app");
    }

    #[test]
    fn strip_deleted_only_strips_the_suffix() {
        assert_eq!(strip_deleted("/tmp/x (deleted)"), "/tmp/x");
        assert_eq!(strip_deleted("/tmp/x"), "/tmp/x");
        assert_eq!(strip_deleted("/tmp/(deleted) x"), "/tmp/(deleted) x");
    }

    #[test]
    fn proc_self_names_the_tracee() {
        let tgid = Pid::from_raw(40);
        let tid = Pid::from_raw(42);
        let r = |p: &str| rewrite_proc_self(p.to_string(), tgid, tid);
        assert_eq!(r("/proc/self"), "/proc/40");
        assert_eq!(r("/proc/self/exe"), "/proc/40/exe");
        assert_eq!(r("/proc/thread-self/fd/3"), "/proc/40/task/42/fd/3");
        assert_eq!(r("/proc/selfish"), "/proc/selfish");
        assert_eq!(r("/proc/1/status"), "/proc/1/status");
        assert_eq!(r("/etc/proc/self"), "/etc/proc/self");
    }

    #[test]
    fn proc_links_of_this_process_resolve() {
        let me = nix::unistd::getpid();
        let cwd = std::env::current_dir().expect("cwd");
        assert_eq!(
            read_cwd(me).expect("readlink cwd"),
            cwd.to_str().map(normalize)
        );
        // fd 0 of a test process may be anything; a file we open is a path
        let file = std::fs::File::open("/etc/hostname").expect("open");
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        assert_eq!(
            read_fd_path(me, fd).expect("readlink fd"),
            Some("/etc/hostname".to_string())
        );
    }
}
