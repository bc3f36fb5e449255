//! The `slim` command: parse arguments, run the command, exit with its code.

mod cli;
mod commands;
mod printer;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse_from(leading_context_first());
    if let Some(context) = &cli.docker_context {
        // SAFETY: no other thread exists yet; the engine connection reads it later.
        unsafe { std::env::set_var(slim::engine::endpoint::CONTEXT_OVERRIDE_VARIABLE, context) };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(commands::run(cli))
}

/// The arguments with a leading `--docker-context NAME` moved behind the subcommand: given
/// first (`slim --docker-context ci build app:1`), clap would take it for a flag of the
/// default build command and read the subcommand's name as an image.
fn leading_context_first() -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let flag = args.get(1).and_then(|a| a.to_str()).unwrap_or_default();
    let taken = if flag == "--docker-context" && args.len() > 2 {
        2
    } else if flag.starts_with("--docker-context=") {
        1
    } else {
        return args;
    };
    let moved: Vec<_> = args.drain(1..1 + taken).collect();
    args.extend(moved);
    args
}
