//! One module per subcommand; this one runs them and turns outcomes into exit codes.

mod batch;
mod build;
mod clean;
mod compare;
mod dockerfile;
mod from_report;
mod lint;
mod profiles;
mod push;
mod sign;
mod slimming;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::printer::Printer;

/// Exit codes, deliberately few.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// everything worked (and verification passed, if it ran)
    Success = 0,
    /// slim could not do the job; the message says why
    Failure = 1,
    /// the command line or an argument is wrong
    Usage = 2,
    /// the slim image was built but does not answer like the original
    VerifyFailed = 3,
    /// stopped by Ctrl-C or SIGTERM (everything slim created was removed)
    Interrupted = 130,
}

/// An error in what the user asked for, as opposed to one met while doing it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

pub async fn run(cli: Cli) -> ExitCode {
    let outcome = match cli.command {
        Some(Command::Build(args)) => {
            build::run(*args.clone(), &output_printer(&args.output)).await
        }
        Some(Command::Profiles(args)) => {
            profiles::run(args.clone(), &Printer::new(false, args.json))
        }
        Some(Command::Dockerfile(args)) => {
            dockerfile::run(*args.clone(), &output_printer(&args.output)).await
        }
        Some(Command::Lint(args)) => lint::run(args, &Printer::new(false, false)),
        Some(Command::Push(args)) => push::run(args, &Printer::new(false, false)).await,
        Some(Command::Verify(args)) => {
            let printer = Printer::new(false, args.json);
            sign::verify(args, &printer).await
        }
        Some(Command::GenerateKeyPair(args)) => {
            sign::generate_key_pair(args, &Printer::new(false, false))
        }
        Some(Command::Compare(args)) => {
            let printer = Printer::new(false, args.json);
            compare::compare(args, &printer).await
        }
        Some(Command::Images(args)) => images_command(args).await,
        Some(Command::Clean(args)) => clean::run(args, &Printer::new(false, false)).await,
        None => build::run(cli.build.clone(), &output_printer(&cli.build.output)).await,
    };
    ExitCode::from(outcome as u8)
}

async fn images_command(args: crate::cli::ImagesArgs) -> Outcome {
    let printer = Printer::new(false, args.json);
    compare::images(args, &printer).await
}

fn output_printer(output: &crate::cli::OutputArgs) -> Printer {
    Printer::new(output.quiet, output.json)
}

/// Print an error with its causes, one per line, and pick the exit code.
pub fn report_error(error: &anyhow::Error) -> Outcome {
    eprintln!("error: {error}");
    for cause in error.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
    if error.downcast_ref::<UsageError>().is_some() {
        Outcome::Usage
    } else {
        Outcome::Failure
    }
}
