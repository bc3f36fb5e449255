//! Runs the built slim-sensor on real programs of this host and checks the reports.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use slim_core::sensor::report::{Access, ExecRecord, TraceReport, UserSwitch};

const SENSOR: &str = env!("CARGO_BIN_EXE_slim-sensor");
const TIMEOUT: Duration = Duration::from_secs(60);

/// A fresh directory per test, removed when the test ends.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("slim-sensor-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn report_path(&self) -> PathBuf {
        self.path("report.json")
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write scratch file");
        path
    }

    fn read_report(&self) -> TraceReport {
        let bytes = std::fs::read(self.report_path()).expect("report written");
        serde_json::from_slice(&bytes).expect("report parses")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn python() -> String {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3".into()
    } else {
        "python3".into()
    }
}

fn sensor_command(scratch: &Scratch, program: &[&str]) -> Command {
    let mut command = Command::new(SENSOR);
    command
        .arg("trace")
        .arg("--report")
        .arg(scratch.report_path())
        .arg("--")
        .args(program)
        .current_dir(&scratch.0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Wait for a child, killing it if it outlives `timeout`.
fn wait_bounded(mut child: Child, timeout: Duration) -> Output {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait().expect("try_wait") {
            Some(_) => return child.wait_with_output().expect("collect output"),
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let output = child.wait_with_output().expect("collect output");
                panic!(
                    "sensor timed out; stderr: {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn trace(scratch: &Scratch, program: &[&str]) -> (Output, TraceReport) {
    let child = sensor_command(scratch, program)
        .spawn()
        .expect("spawn sensor");
    let output = wait_bounded(child, TIMEOUT);
    (output, scratch.read_report())
}

fn trace_python(scratch: &Scratch, script: &str) -> (Output, TraceReport) {
    let script_path = scratch.write("script.py", script);
    let script_path = script_path.to_str().expect("utf-8 path").to_string();
    trace(scratch, &[&python(), &script_path])
}

fn has(report: &TraceReport, path: &str, access: Access) -> bool {
    report
        .files
        .get(path)
        .is_some_and(|accesses| accesses.contains(&access))
}

fn assert_has(report: &TraceReport, path: &str, access: Access) {
    assert!(
        has(report, path, access),
        "{path} not recorded as {access:?}; recorded: {:?}; warnings: {:?}",
        report.files.get(path),
        report.warnings
    );
}

fn any_path(
    report: &TraceReport,
    pred: impl Fn(&str, &std::collections::BTreeSet<Access>) -> bool,
) -> bool {
    report.files.iter().any(|(p, a)| pred(p, a))
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[test]
fn shell_reads_lists_and_execs() {
    let scratch = Scratch::new("shell");
    let (output, report) = trace(
        &scratch,
        &["/bin/sh", "-c", "cat /etc/hostname; ls /usr >/dev/null"],
    );
    assert!(output.status.success(), "{output:?}");
    // the program's own output passes through untouched
    let hostname = std::fs::read_to_string("/etc/hostname").expect("hostname");
    assert_eq!(String::from_utf8_lossy(&output.stdout), hostname);
    assert_eq!(report.exit.map(|e| e.code), Some(0));
    assert_has(&report, "/etc/hostname", Access::Read);
    assert_has(&report, "/usr", Access::List);
    assert_has(&report, "/bin/sh", Access::Exec);
    let sh = report
        .execs
        .iter()
        .find(|e| e.path == "/bin/sh")
        .expect("exec of /bin/sh recorded");
    assert_eq!(sh.argv[0], "/bin/sh");
    let loader = sh.elf_interpreter.as_deref().expect("PT_INTERP of /bin/sh");
    assert_has(&report, loader, Access::Read);
    let cat = report
        .execs
        .iter()
        .find(|e| e.path.ends_with("/cat"))
        .expect("exec of cat recorded");
    assert_eq!(cat.argv, vec!["cat", "/etc/hostname"]);
    assert_has(&report, &cat.path, Access::Exec);
    assert!(report.processes >= 3, "processes = {}", report.processes);
    assert!(report.syscalls > 0);
    assert!(report.start_error.is_none());
}

#[test]
fn exit_code_is_propagated() {
    let scratch = Scratch::new("exit");
    let (output, report) = trace(&scratch, &["/bin/sh", "-c", "exit 7"]);
    assert_eq!(output.status.code(), Some(7));
    let exit = report.exit.expect("exit recorded");
    assert_eq!((exit.code, exit.signal), (7, None));
}

#[test]
fn death_by_signal_is_128_plus_signal() {
    let scratch = Scratch::new("killed");
    let (output, report) = trace(&scratch, &["/bin/sh", "-c", "kill -KILL $$"]);
    assert_eq!(output.status.code(), Some(128 + 9));
    let exit = report.exit.expect("exit recorded");
    assert_eq!((exit.code, exit.signal), (137, Some(9)));
}

#[test]
fn unknown_program_is_a_start_error() {
    let scratch = Scratch::new("unknown");
    let (output, report) = trace(&scratch, &["/nonexistent/program", "arg"]);
    assert_eq!(output.status.code(), Some(127));
    assert_eq!(
        report.start_error.as_deref(),
        Some("cannot run /nonexistent/program: No such file or directory")
    );
    assert_eq!(report.exit.map(|e| e.code), Some(127));
    assert!(report.execs.is_empty());
    // the sensor prints nothing of its own: the start error is in the report
    assert!(output.stderr.is_empty(), "{output:?}");
}

#[test]
fn program_not_on_path_is_a_start_error() {
    let scratch = Scratch::new("notonpath");
    let (output, report) = trace(&scratch, &["no-such-program-anywhere"]);
    assert_eq!(output.status.code(), Some(127));
    assert_eq!(
        report.start_error.as_deref(),
        Some("cannot run no-such-program-anywhere: No such file or directory")
    );
}

#[test]
fn bad_usage_exits_2() {
    let output = Command::new(SENSOR)
        .arg("frobnicate")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage"));
    let output = Command::new(SENSOR)
        .args(["trace", "--", "true"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn unwritable_report_fails_before_running() {
    let scratch = Scratch::new("unwritable");
    let marker = scratch.path("ran");
    let output = Command::new(SENSOR)
        .args([
            "trace",
            "--report",
            "/proc/version/report.json",
            "--",
            "/bin/sh",
            "-c",
        ])
        .arg(format!("touch {}", s(&marker)))
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&output.stderr).starts_with("slim-sensor: "));
    assert!(!marker.exists());
}

#[test]
fn python_imports_are_recorded() {
    let scratch = Scratch::new("python");
    let (output, report) = trace_python(
        &scratch,
        "import json, sqlite3, os\nos.stat('/etc/passwd')\nos.path.exists('/nonexistent/x')\n",
    );
    assert!(output.status.success(), "{output:?}");
    assert_has(&report, s(&scratch.path("script.py")), Access::Read);
    // python stats the source and reads the cached bytecode next to it
    for package in ["json", "sqlite3"] {
        assert!(
            any_path(&report, |p, a| p
                .ends_with(&format!("/{package}/__init__.py"))
                && a.contains(&Access::Stat)),
            "{package} source not looked at"
        );
        assert!(
            any_path(&report, |p, a| p.contains(&format!("/{package}/"))
                && (p.ends_with(".pyc") || p.ends_with(".py"))
                && a.contains(&Access::Read)),
            "{package} code not read"
        );
    }
    assert!(
        any_path(&report, |p, a| p.contains("_sqlite3")
            && p.ends_with(".so")
            && a.contains(&Access::Read)),
        "_sqlite3 extension not read"
    );
    assert_has(&report, "/etc/passwd", Access::Stat);
    assert_has(&report, "/nonexistent/x", Access::Stat);
    // the import system stats directories before it lists or opens anything in them
    assert!(any_path(&report, |_, a| a.contains(&Access::Stat) && a.len() == 1));
}

#[test]
fn threads_opening_files_are_traced() {
    let scratch = Scratch::new("threads");
    for i in 0..8 {
        scratch.write(&format!("data{i}.txt"), "x");
    }
    let script = format!(
        "import threading\n\
         def work(i):\n    open('{dir}/data%d.txt' % i).read()\n\
         ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]\n\
         [t.start() for t in ts]\n[t.join() for t in ts]\n",
        dir = s(&scratch.0)
    );
    let (output, report) = trace_python(&scratch, &script);
    assert!(output.status.success(), "{output:?}");
    for i in 0..8 {
        assert_has(
            &report,
            s(&scratch.path(&format!("data{i}.txt"))),
            Access::Read,
        );
    }
    assert!(report.processes >= 9, "processes = {}", report.processes);
}

#[test]
fn forked_child_writes_and_exit_code_survives() {
    let scratch = Scratch::new("fork");
    let out = scratch.path("out.txt");
    let script = format!("(echo hi > {}) & wait; exit 3", s(&out));
    let (output, report) = trace(&scratch, &["/bin/sh", "-c", &script]);
    assert_eq!(output.status.code(), Some(3));
    assert_has(&report, s(&out), Access::Write);
    assert!(report.written().any(|p| p == s(&out)));
}

#[test]
fn python_fork_child_writes() {
    let scratch = Scratch::new("pyfork");
    let out = scratch.path("child.txt");
    let script = format!(
        "import os\npid = os.fork()\nif pid == 0:\n    open('{}', 'w').write('x')\n    os._exit(0)\n\
         os.waitpid(pid, 0)\nraise SystemExit(4)\n",
        s(&out)
    );
    let (output, report) = trace_python(&scratch, &script);
    assert_eq!(output.status.code(), Some(4));
    assert_has(&report, s(&out), Access::Write);
}

#[test]
fn relative_paths_resolve_against_dirfd_and_cwd() {
    let scratch = Scratch::new("relative");
    std::fs::create_dir_all(scratch.path("sub/inner")).expect("mkdir");
    scratch.write("sub/x", "x");
    scratch.write("sub/inner/y", "y");
    scratch.write("cwdfile", "c");
    let script = format!(
        "import os\n\
         d = os.open('{sub}', os.O_RDONLY)\n\
         os.close(os.open('x', os.O_RDONLY, dir_fd=d))\n\
         os.stat('inner//./y', dir_fd=d)\n\
         open('cwdfile').read()\n\
         os.chdir('sub/inner')\n\
         open('y').read()\n\
         os.mkdir('newdir')\n\
         os.rename('newdir', '../renamed')\n",
        sub = s(&scratch.path("sub"))
    );
    let (output, report) = trace_python(&scratch, &script);
    assert!(output.status.success(), "{output:?}");
    assert_has(&report, s(&scratch.path("sub/x")), Access::Read);
    assert_has(&report, s(&scratch.path("sub/inner/y")), Access::Stat);
    assert_has(&report, s(&scratch.path("cwdfile")), Access::Read);
    assert_has(&report, s(&scratch.path("sub/inner")), Access::Chdir);
    assert_has(&report, s(&scratch.path("sub/inner/y")), Access::Read);
    assert_has(&report, s(&scratch.path("sub/inner/newdir")), Access::Write);
    // `..` is left for the resolver, which follows symlinks
    assert_has(
        &report,
        s(&scratch.path("sub/inner/../renamed")),
        Access::Write,
    );
}

#[test]
fn proc_self_names_the_tracee() {
    let scratch = Scratch::new("procself");
    let (output, report) = trace_python(&scratch, "open('/proc/self/status').read()\n");
    assert!(output.status.success(), "{output:?}");
    let python_pid = report
        .execs
        .iter()
        .find(|e| e.argv.iter().any(|a| a.ends_with("script.py")))
        .expect("python exec")
        .pid;
    assert_has(&report, &format!("/proc/{python_pid}/status"), Access::Read);
    assert!(!report.files.keys().any(|p| p.starts_with("/proc/self")));
}

#[test]
fn script_exec_records_interpreters() {
    let scratch = Scratch::new("shebang");
    let script = scratch.write("run.sh", "#!/bin/sh -e\nexit 0\n");
    Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .expect("chmod");
    let (output, report) = trace(&scratch, &[s(&script)]);
    assert!(output.status.success(), "{output:?}");
    let exec = report
        .execs
        .iter()
        .find(|e| e.path == s(&script))
        .expect("script exec");
    assert_eq!(exec.interpreter.as_deref(), Some("/bin/sh"));
    let loader = exec.elf_interpreter.as_deref().expect("loader of /bin/sh");
    assert_has(&report, "/bin/sh", Access::Read);
    assert_has(&report, loader, Access::Read);
    assert_has(&report, s(&script), Access::Exec);
}

#[test]
fn fexecve_through_execveat_is_recorded() {
    let scratch = Scratch::new("fexecve");
    let script = "import os\n\
                  pid = os.fork()\n\
                  if pid == 0:\n    fd = os.open('/bin/true', os.O_RDONLY)\n    os.execve(fd, ['true'], {})\n\
                  _, status = os.waitpid(pid, 0)\nraise SystemExit(os.waitstatus_to_exitcode(status))\n";
    let (output, report) = trace_python(&scratch, script);
    assert!(output.status.success(), "{output:?}");
    let exec = report
        .execs
        .iter()
        .find(|e| e.argv == vec!["true".to_string()])
        .expect("fexecve recorded");
    let real_true = std::fs::canonicalize("/bin/true").expect("canonicalize");
    assert_eq!(exec.path, s(&real_true));
    assert!(exec.elf_interpreter.is_some(), "{exec:?}");
    assert_has(&report, s(&real_true), Access::Exec);
}

#[test]
fn exec_from_a_thread_changes_tid() {
    let scratch = Scratch::new("threadexec");
    let script = "import os, threading, time\n\
                  def run():\n    os.execv('/bin/sh', ['/bin/sh', '-c', 'cat /etc/hostname >/dev/null; exit 6'])\n\
                  threading.Thread(target=run).start()\ntime.sleep(30)\n";
    let started = Instant::now();
    let (output, report) = trace_python(&scratch, script);
    assert_eq!(output.status.code(), Some(6), "{output:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_has(&report, "/etc/hostname", Access::Read);
    assert!(report.execs.iter().any(|e| e.path == "/bin/sh"));
}

#[test]
fn signals_reach_the_program() {
    let scratch = Scratch::new("signals");
    let script = "import os, signal, sys\n\
                  got = []\n\
                  signal.signal(signal.SIGUSR1, lambda *a: got.append('usr1'))\n\
                  signal.signal(signal.SIGRTMIN + 1, lambda *a: got.append('rt'))\n\
                  os.kill(os.getpid(), signal.SIGUSR1)\n\
                  os.kill(os.getpid(), signal.SIGRTMIN + 1)\n\
                  sys.exit(5 if got == ['usr1', 'rt'] else 1)\n";
    let (output, _) = trace_python(&scratch, script);
    assert_eq!(output.status.code(), Some(5), "{output:?}");
}

#[test]
fn stopped_process_does_not_hang_the_trace() {
    let scratch = Scratch::new("sigstop");
    let started = Instant::now();
    let (output, report) = trace(
        &scratch,
        &[
            "/bin/sh",
            "-c",
            "kill -STOP $$; cat /etc/hostname >/dev/null",
        ],
    );
    assert!(output.status.success(), "{output:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_has(&report, "/etc/hostname", Access::Read);
}

#[test]
fn fstat_does_not_stop_the_tracee() {
    let scratch = Scratch::new("fstat");
    let script = "import os\nfd = os.open('/etc/hostname', os.O_RDONLY)\n\
                  for _ in range(5000):\n    os.fstat(fd)\n";
    let (output, report) = trace_python(&scratch, script);
    assert!(output.status.success(), "{output:?}");
    assert!(report.syscalls < 2000, "syscalls = {}", report.syscalls);
}

#[test]
fn sigterm_is_forwarded_and_report_written() {
    let scratch = Scratch::new("sigterm");
    let script = scratch.write(
        "sleep.py",
        "import time\nopen('/etc/hostname').read()\ntime.sleep(60)\n",
    );
    let child = sensor_command(&scratch, &[&python(), s(&script)])
        .spawn()
        .expect("spawn sensor");
    // wait until python is running: its first file is in a flushed report
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let ready = std::fs::read(scratch.report_path())
            .ok()
            .and_then(|b| serde_json::from_slice::<TraceReport>(&b).ok())
            .is_some_and(|r| has(&r, "/etc/hostname", Access::Read));
        if ready {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let started = Instant::now();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signal sensor");
    let output = wait_bounded(child, Duration::from_secs(20));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(output.status.code(), Some(128 + 15), "{output:?}");
    let report = scratch.read_report();
    let exit = report.exit.expect("final report");
    assert_eq!((exit.code, exit.signal), (143, Some(15)));
    assert_has(&report, "/etc/hostname", Access::Read);
}

#[test]
fn report_is_flushed_while_running() {
    let scratch = Scratch::new("periodic");
    let child = sensor_command(
        &scratch,
        &["/bin/sh", "-c", "cat /etc/hostname >/dev/null; sleep 30"],
    )
    .spawn()
    .expect("spawn sensor");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = None;
    while Instant::now() < deadline {
        if let Some(report) = std::fs::read(scratch.report_path())
            .ok()
            .and_then(|b| serde_json::from_slice::<TraceReport>(&b).ok())
            .filter(|r| has(r, "/etc/hostname", Access::Read))
        {
            seen = Some(report);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // a SIGKILLed sensor takes its tracees with it (PTRACE_O_EXITKILL)
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).expect("kill sensor");
    let _ = wait_bounded(child, Duration::from_secs(10));
    let report = seen.expect("report flushed while the program ran");
    assert!(report.exit.is_none());
}

/// Runs only where setpriv exists and we are root (as in CI and the dev VM).
fn setpriv_available() -> bool {
    nix::unistd::geteuid().is_root() && Path::new("/usr/bin/setpriv").exists()
}

#[test]
fn sensor_runs_as_an_unprivileged_user() {
    if !setpriv_available() {
        eprintln!("skipped: needs root and setpriv");
        return;
    }
    let scratch = Scratch::new("nobody");
    Command::new("chmod")
        .arg("777")
        .arg(&scratch.0)
        .status()
        .expect("chmod");
    let mut command = Command::new("/usr/bin/setpriv");
    command
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            SENSOR,
            "trace",
        ])
        .arg("--report")
        .arg(scratch.report_path())
        .args([
            "--",
            "/bin/sh",
            "-c",
            "cat /etc/hostname >/dev/null; ls / >/dev/null",
        ])
        .current_dir(&scratch.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let output = wait_bounded(command.spawn().expect("spawn"), TIMEOUT);
    assert!(output.status.success(), "{output:?}");
    let report = scratch.read_report();
    assert_has(&report, "/etc/hostname", Access::Read);
    assert_has(&report, "/", Access::List);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn tracee_switching_uid_is_read_without_proc_access() {
    if !setpriv_available() {
        eprintln!("skipped: needs root and setpriv");
        return;
    }
    // a root sensor without CAP_SYS_PTRACE may not open /proc/PID/mem or read
    // /proc/PID/cwd of a tracee that became another user: PEEKDATA and the tracked cwd
    // must take over
    let scratch = Scratch::new("setuid");
    let script = scratch.write(
        "drop.py",
        "import os\nopen('/etc/hostname').read()\nos.chdir('/usr')\nos.stat('lib/os-release')\n",
    );
    Command::new("chmod")
        .arg("755")
        .arg(&scratch.0)
        .status()
        .expect("chmod");
    let mut command = Command::new("/usr/bin/setpriv");
    command
        .args(["--bounding-set=-sys_ptrace", SENSOR, "trace"])
        .arg("--report")
        .arg(scratch.report_path())
        .args([
            "--",
            "/usr/bin/setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            &python(),
            s(&script),
        ])
        .current_dir(&scratch.0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let output = wait_bounded(command.spawn().expect("spawn"), TIMEOUT);
    assert!(output.status.success(), "{output:?}");
    let report = scratch.read_report();
    assert_has(&report, s(&script), Access::Read);
    assert_has(&report, "/etc/hostname", Access::Read);
    assert_has(&report, "/usr", Access::Chdir);
    assert_has(&report, "/usr/lib/os-release", Access::Stat);
}

#[test]
fn program_starts_with_default_signal_dispositions() {
    let scratch = Scratch::new("sigign");
    let (output, _) = trace(&scratch, &["/bin/cat", "/proc/self/status"]);
    assert!(output.status.success(), "{output:?}");
    let status = String::from_utf8_lossy(&output.stdout);
    let ignored = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .expect("SigIgn line")
        .trim();
    let ignored = u64::from_str_radix(ignored, 16).expect("hex mask");
    assert_eq!(ignored & (1 << (libc::SIGPIPE - 1)), 0, "SIGPIPE ignored");
}

#[test]
fn exec_of_a_fifo_does_not_block_the_sensor() {
    let scratch = Scratch::new("fifo");
    let fifo = scratch.path("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    Command::new("chmod")
        .arg("+x")
        .arg(&fifo)
        .status()
        .expect("chmod");
    let script = format!("{} 2>/dev/null; exit 0", s(&fifo));
    let (output, report) = trace(&scratch, &["/bin/sh", "-c", &script]);
    assert!(output.status.success(), "{output:?}");
    assert_has(&report, s(&fifo), Access::Exec);
}

/// Run the sensor as the entrypoint of a Debian fixture container, as slim's analysis does;
/// `docker_args` come before the image (`--cap-add SYS_PTRACE`, `--user`). No network:
/// these programs need none.
fn trace_in_container(
    scratch: &Scratch,
    docker_args: &[&str],
    program: &[&str],
) -> (Output, TraceReport) {
    fixtures();
    // the sensor may run as any user in there and writes its report here
    Command::new("chmod")
        .arg("777")
        .arg(&scratch.0)
        .status()
        .expect("chmod");
    let mut command = Command::new("docker");
    command
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            "--entrypoint",
            "/slim-sensor",
        ])
        .arg("-v")
        .arg(format!("{SENSOR}:/slim-sensor:ro"))
        .arg("-v")
        .arg(format!("{}:/out", s(&scratch.0)))
        .args(docker_args)
        .arg(DEBIAN)
        .args(["trace", "--report", "/out/report.json", "--"])
        .args(program)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let output = wait_bounded(command.spawn().expect("docker run"), TIMEOUT);
    (output, scratch.read_report())
}

fn user_switch(program: &str, call: &str, ids: &[u32], from_uid: u32) -> UserSwitch {
    UserSwitch {
        program: program.into(),
        call: call.into(),
        ids: ids.to_vec(),
        from_uid,
    }
}

fn exec_of<'a>(report: &'a TraceReport, path: &str) -> &'a ExecRecord {
    report
        .execs
        .iter()
        .find(|e| e.path == path)
        .unwrap_or_else(|| panic!("no exec of {path}: {:?}", report.execs))
}

/// (uid, gid, groups) an exec record says the program ran with.
fn ran_as(exec: &ExecRecord) -> (Option<u32>, Option<u32>, Option<Vec<u32>>) {
    (exec.uid, exec.gid, exec.groups.clone())
}

#[test]
fn execs_record_the_user_that_ran_them() {
    let scratch = Scratch::new("execuser");
    let (output, report) = trace(&scratch, &["/bin/sh", "-c", "cat /etc/hostname"]);
    assert!(output.status.success(), "{output:?}");
    let groups: Vec<u32> = nix::unistd::getgroups()
        .expect("getgroups")
        .iter()
        .map(|g| g.as_raw())
        .collect();
    assert!(!report.execs.is_empty());
    for exec in &report.execs {
        let (uid, gid, recorded_groups) = ran_as(exec);
        assert_eq!(uid, Some(nix::unistd::geteuid().as_raw()), "{exec:?}");
        assert_eq!(gid, Some(nix::unistd::getegid().as_raw()), "{exec:?}");
        let mut recorded_groups = recorded_groups.expect("groups recorded");
        let mut expected = groups.clone();
        recorded_groups.sort_unstable();
        expected.sort_unstable();
        assert_eq!(recorded_groups, expected, "{exec:?}");
    }
    assert!(
        report.user_switches.is_empty(),
        "{:?}",
        report.user_switches
    );
}

#[test]
fn root_in_a_container_switching_to_www_data_is_recorded() {
    // as slim runs the analysis by default: with CAP_SYS_PTRACE
    let scratch = Scratch::new("switch");
    let script = "import os\n\
                  os.setgroups([4, 27])\n\
                  os.setgid(33)\n\
                  os.setuid(33)\n\
                  os.execv('/usr/bin/id', ['id'])\n";
    let (output, report) = trace_in_container(
        &scratch,
        &["--cap-add", "SYS_PTRACE"],
        &["/usr/bin/python3", "-c", script],
    );
    assert!(output.status.success(), "{output:?}");
    // the calls ran as they would untraced
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.starts_with("uid=33(www-data) gid=33(www-data)"),
        "{stdout}"
    );
    let python = "/usr/bin/python3";
    assert_eq!(
        report.user_switches,
        vec![
            user_switch(python, "setgroups", &[4, 27], 0),
            user_switch(python, "setgid", &[33], 0),
            user_switch(python, "setuid", &[33], 0),
        ]
    );
    assert_eq!(
        ran_as(exec_of(&report, python)),
        (Some(0), Some(0), Some(vec![0]))
    );
    assert_eq!(
        ran_as(exec_of(&report, "/usr/bin/id")),
        (Some(33), Some(33), Some(vec![4, 27]))
    );
}

#[test]
fn setpriv_switch_is_recorded_without_cap_sys_ptrace() {
    // Docker's default capabilities have no CAP_SYS_PTRACE (slim's --cap-ptrace=false)
    let scratch = Scratch::new("setpriv");
    let (output, report) = trace_in_container(
        &scratch,
        &[],
        &[
            "/usr/bin/setpriv",
            "--reuid=33",
            "--regid=33",
            "--clear-groups",
            "/usr/bin/id",
        ],
    );
    assert!(output.status.success(), "{output:?}");
    let switches = &report.user_switches;
    assert!(
        switches.iter().all(|s| s.program == "/usr/bin/setpriv"),
        "{switches:?}"
    );
    let asked: Vec<(&str, &[u32])> = switches
        .iter()
        .map(|s| (s.call.as_str(), s.ids.as_slice()))
        .collect();
    for expected in [
        ("setresuid", &[33, 33, 33][..]),
        ("setresgid", &[33, 33, 33][..]),
        ("setgroups", &[][..]),
    ] {
        assert!(
            asked.contains(&expected),
            "{expected:?} not in {switches:?}"
        );
    }
    // setpriv's first change is made as root; it keeps its capabilities for the rest
    assert_eq!(
        switches.first().map(|s| s.from_uid),
        Some(0),
        "{switches:?}"
    );
    assert_eq!(
        ran_as(exec_of(&report, "/usr/bin/setpriv")),
        (Some(0), Some(0), Some(vec![0]))
    );
    assert_eq!(
        ran_as(exec_of(&report, "/usr/bin/id")),
        (Some(33), Some(33), Some(vec![]))
    );
}

#[test]
fn program_that_keeps_its_user_switches_nothing() {
    let scratch = Scratch::new("noswitch");
    let (output, report) = trace_in_container(
        &scratch,
        &["--user", "1000:1000"],
        &[
            "/bin/sh",
            "-c",
            "cat /etc/hostname >/dev/null; /usr/bin/id -u",
        ],
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "1000");
    assert!(
        report.user_switches.is_empty(),
        "{:?}",
        report.user_switches
    );
    assert!(report.execs.len() >= 3, "{:?}", report.execs);
    for exec in &report.execs {
        // Docker lists the primary group as a supplementary one too
        assert_eq!(
            ran_as(exec),
            (Some(1000), Some(1000), Some(vec![1000])),
            "{exec:?}"
        );
    }
}

#[test]
fn refused_switch_is_recorded_and_still_refused() {
    let scratch = Scratch::new("refused");
    let script = "import os\n\
                  try:\n    os.setuid(0)\nexcept PermissionError:\n    print('EPERM')\n";
    let (output, report) = trace_in_container(
        &scratch,
        &["--user", "1000:1000"],
        &["/usr/bin/python3", "-c", script],
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "EPERM");
    assert_eq!(
        report.user_switches,
        vec![user_switch("/usr/bin/python3", "setuid", &[0], 1000)]
    );
}

#[test]
fn threads_switching_together_are_recorded_once() {
    // glibc makes every thread of the process call setuid itself
    let scratch = Scratch::new("threadswitch");
    let script = "import os, threading\n\
                  go = threading.Event()\n\
                  ts = [threading.Thread(target=go.wait) for _ in range(4)]\n\
                  [t.start() for t in ts]\n\
                  os.setgid(33)\n\
                  os.setuid(33)\n\
                  go.set()\n\
                  [t.join() for t in ts]\n\
                  print(os.getuid(), os.getgid())\n";
    let (output, report) = trace_in_container(
        &scratch,
        &["--cap-add", "SYS_PTRACE"],
        &["/usr/bin/python3", "-c", script],
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "33 33");
    assert!(report.processes >= 5, "processes = {}", report.processes);
    let python = "/usr/bin/python3";
    assert_eq!(
        report.user_switches,
        vec![
            user_switch(python, "setgid", &[33], 0),
            user_switch(python, "setuid", &[33], 0),
        ]
    );
}

/// The Debian fixture image the container tests run in (`tests/fixtures/build-bases.sh`
/// builds it; the top-level integration tests and `tests/run.sh` do so when it is absent).
const DEBIAN: &str = "slim-fixture/debian:bookworm";

/// Make sure the fixture image exists, building it once if absent; fails loudly without an
/// engine, never skips.
fn fixtures() {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let present = Command::new("docker")
            .args(["image", "inspect", "--format", "{{.Id}}", DEBIAN])
            .output()
            .expect("these tests need the docker CLI and a running engine");
        if present.status.success() {
            return;
        }
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/build-bases.sh");
        let status = Command::new("sh")
            .arg(&script)
            .status()
            .expect("running build-bases.sh");
        assert!(
            status.success(),
            "building the fixture images with {} failed",
            script.display()
        );
    });
}

/// `slim-sensor relay PORT` with `input` on stdin, against a server on all addresses that
/// answers `got: ` and what it read.
#[test]
fn relay_pipes_stdin_to_the_port_and_the_answer_to_stdout() {
    use std::io::{Read, Write};
    // The relay connects where outside clients would (the host's first non-loopback IPv4
    // address here), so the server listens on every address.
    let listener = std::net::TcpListener::bind("0.0.0.0:0").expect("listen");
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut socket, peer) = listener.accept().expect("accept");
        let mut request = Vec::new();
        socket.read_to_end(&mut request).expect("read request");
        socket.write_all(b"got: ").unwrap();
        socket.write_all(&request).unwrap();
        peer
    });
    let mut child = Command::new(SENSOR)
        .args(["relay", &port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn relay");
    child.stdin.take().unwrap().write_all(b"ping").unwrap();
    let output = wait_bounded(child, TIMEOUT);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(output.stdout, b"got: ping");
    let peer = server.join().unwrap();
    assert_eq!(
        peer.ip(),
        slim_core::sensor::relay::app_address(port).ip(),
        "the relay comes from the address outside clients use"
    );
}

#[test]
fn relay_to_a_closed_port_says_so_and_exits_3() {
    let listener = std::net::TcpListener::bind("0.0.0.0:0").expect("listen");
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let child = Command::new(SENSOR)
        .args(["relay", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn relay");
    let output = wait_bounded(child, TIMEOUT);
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("nothing accepts connections on"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn idle_waits_until_sigterm() {
    let child = Command::new(SENSOR)
        .arg("idle")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn idle");
    std::thread::sleep(Duration::from_millis(300));
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let mut child = child;
    assert!(child.try_wait().unwrap().is_none(), "idle ended by itself");
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signal idle");
    let output = wait_bounded(child, Duration::from_secs(10));
    assert!(output.status.success(), "{output:?}");
}
