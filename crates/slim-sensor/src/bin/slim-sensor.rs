//! slim-sensor: injected into the container as its entrypoint.
//!
//! Its stdout and stderr belong to the traced program; the sensor itself writes only its
//! own fatal errors, prefixed `slim-sensor: `.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use slim_core::sensor::tracer::{self, TraceOptions};

const USAGE: &str = "usage: slim-sensor trace --report PATH [--all-syscalls] -- PROGRAM [ARGS...]\n       slim-sensor pack --request PATH --out DIR\n       slim-sensor listening\n       slim-sensor gather --plan PATH --out DIR\n       slim-sensor relay PORT\n       slim-sensor idle";
/// The sensor itself failed (not the program): the code Docker uses for its own errors.
const SENSOR_FAILED: u8 = 125;
const BAD_USAGE: u8 = 2;
/// `relay` found nothing accepting connections on the port.
const NOT_ACCEPTING: u8 = 3;
/// How long `relay` waits for the app to accept its connection.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let subcommand = args.next();
    let rest: Vec<OsString> = args.collect();
    match subcommand.as_ref().and_then(|s| s.to_str()) {
        Some("trace") => trace(rest),
        Some("pack") => pack(rest),
        Some("listening") => listening(),
        Some("gather") => gather(rest),
        Some("relay") => relay(rest),
        Some("idle") => idle(),
        _ => usage_error(None),
    }
}

fn trace(args: Vec<OsString>) -> ExitCode {
    let options = match parse_trace_args(args) {
        Ok(options) => options,
        Err(problem) => return usage_error(Some(&problem)),
    };
    match tracer::run(&options) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(error) => {
            eprintln!("slim-sensor: {error}");
            ExitCode::from(SENSOR_FAILED)
        }
    }
}

/// Resolve the kept set against this container's root and write it out (see `resolve::pack`).
fn pack(args: Vec<OsString>) -> ExitCode {
    let (request, out) = match input_and_out(args, "--request") {
        Ok(paths) => paths,
        Err(problem) => return usage_error(Some(&format!("pack: {problem}"))),
    };
    finish(slim_core::resolve::pack::run_pack(Path::new("/"), &request, &out).map(drop))
}

/// Copy the kept files into a directory, as the slim layer holds them (see `rebuild::gather`).
fn gather(args: Vec<OsString>) -> ExitCode {
    let (plan, out) = match input_and_out(args, "--plan") {
        Ok(paths) => paths,
        Err(problem) => return usage_error(Some(&format!("gather: {problem}"))),
    };
    let work = plan.with_file_name("gather-work");
    finish(slim_core::rebuild::gather::run_gather(
        Path::new("/"),
        &plan,
        &out,
        &work,
    ))
}

/// `INPUT_FLAG PATH --out DIR`, in any order.
fn input_and_out(args: Vec<OsString>, input_flag: &str) -> Result<(PathBuf, PathBuf), String> {
    let (mut input, mut out) = (None, None);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some(flag) if flag == input_flag => input = args.next().map(PathBuf::from),
            Some("--out") => out = args.next().map(PathBuf::from),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    match (input, out) {
        (Some(input), Some(out)) => Ok((input, out)),
        _ => Err(format!("needs {input_flag} PATH and --out DIR")),
    }
}

/// Exit 0, or report the sensor's own failure.
fn finish<E: std::fmt::Display>(result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("slim-sensor: {error}");
            ExitCode::from(SENSOR_FAILED)
        }
    }
}

/// Print the TCP ports something listens on in this container, one per line.
fn listening() -> ExitCode {
    match slim_core::sensor::listening::listening_ports() {
        Ok(ports) => {
            for port in ports {
                println!("{port}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("slim-sensor: reading /proc/net/tcp: {error}");
            ExitCode::from(SENSOR_FAILED)
        }
    }
}

/// Connect to the app's `PORT` as an outside client would and pipe stdin and stdout through.
fn relay(args: Vec<OsString>) -> ExitCode {
    let port = match args.as_slice() {
        [port] => port.to_str().and_then(|p| p.parse::<u16>().ok()),
        _ => None,
    };
    let Some(port) = port.filter(|p| *p != 0) else {
        return usage_error(Some("relay needs one TCP port number"));
    };
    let address = slim_core::sensor::relay::app_address(port);
    let connection = match std::net::TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
        Ok(connection) => connection,
        Err(error) => {
            let not_accepting = slim_core::sensor::relay::NOT_ACCEPTING;
            eprintln!("slim-sensor: {not_accepting} {address}: {error}");
            return ExitCode::from(NOT_ACCEPTING);
        }
    };
    let output = std::io::stdout().lock();
    finish(slim_core::sensor::relay::relay(
        connection,
        std::io::stdin(),
        output,
    ))
}

/// Wait for SIGTERM or SIGINT: the main process of the container slim probes from, which
/// only has to be there for `relay` and `listening` to be run beside it.
fn idle() -> ExitCode {
    use nix::sys::signal::{SigSet, Signal};
    let mut stops = SigSet::empty();
    stops.add(Signal::SIGTERM);
    stops.add(Signal::SIGINT);
    // Blocked signals wait in the queue for sigwait instead of being ignored (as PID 1).
    let waited = stops.thread_block().and_then(|()| stops.wait());
    finish(waited.map(drop))
}

fn usage_error(problem: Option<&str>) -> ExitCode {
    match problem {
        Some(problem) => eprintln!("slim-sensor: {problem}\n{USAGE}"),
        None => eprintln!("{USAGE}"),
    }
    ExitCode::from(BAD_USAGE)
}

/// `--report PATH` (or `--report=PATH`) and `--all-syscalls`, then `--` and the command. The command may also
/// start at the first argument that is not an option.
fn parse_trace_args(args: Vec<OsString>) -> Result<TraceOptions, String> {
    let mut report_path: Option<PathBuf> = None;
    let mut all_syscalls = false;
    let mut args = args.into_iter();
    let mut command = Vec::new();
    while let Some(arg) = args.next() {
        let text = arg.to_str();
        match text {
            Some("--") => {
                command.extend(args.by_ref());
                break;
            }
            Some("--report") => match args.next() {
                Some(path) => report_path = Some(PathBuf::from(path)),
                None => return Err("--report needs a path".into()),
            },
            Some("--all-syscalls") => all_syscalls = true,
            Some(t) if t.starts_with("--report=") => {
                report_path = Some(PathBuf::from(&t["--report=".len()..]));
            }
            Some(t) if t.starts_with('-') => return Err(format!("unknown option {t}")),
            _ => {
                command.push(arg);
                command.extend(args.by_ref());
                break;
            }
        }
    }
    let report_path = report_path.ok_or("--report PATH is required")?;
    if report_path.as_os_str().is_empty() {
        return Err("--report needs a path".into());
    }
    if command.is_empty() {
        return Err("no program to run".into());
    }
    Ok(TraceOptions {
        report_path,
        command,
        all_syscalls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<TraceOptions, String> {
        parse_trace_args(args.iter().map(OsString::from).collect())
    }

    #[test]
    fn report_then_command() {
        let options = parse(&["--report", "/tmp/r.json", "--", "ls", "-l"]).expect("parses");
        assert_eq!(options.report_path, PathBuf::from("/tmp/r.json"));
        assert_eq!(
            options.command,
            vec![OsString::from("ls"), OsString::from("-l")]
        );
    }

    #[test]
    fn all_syscalls_is_an_option_of_ours() {
        let options = parse(&["--all-syscalls", "--report", "r", "--", "ls"]).expect("parses");
        assert!(options.all_syscalls);
        assert!(!parse(&["--report", "r", "ls"]).unwrap().all_syscalls);
    }

    #[test]
    fn equals_form_and_no_separator() {
        let options = parse(&["--report=/r.json", "sh", "-c", "--"]).expect("parses");
        assert_eq!(options.report_path, PathBuf::from("/r.json"));
        assert_eq!(options.command.len(), 3);
    }

    #[test]
    fn program_options_after_separator_are_not_ours() {
        let options = parse(&["--report", "r", "--", "--report", "x"]).expect("parses");
        assert_eq!(
            options.command,
            vec![OsString::from("--report"), OsString::from("x")]
        );
    }

    #[test]
    fn errors() {
        assert!(parse(&["--", "ls"]).is_err());
        assert!(parse(&["--report"]).is_err());
        assert!(parse(&["--report", "r"]).is_err());
        assert!(parse(&["--report", "r", "--"]).is_err());
        assert!(parse(&["--verbose", "--report", "r", "--", "ls"]).is_err());
    }
}
