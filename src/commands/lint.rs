//! `slim lint [DOCKERFILE]`: check a Dockerfile and its build context against slim's rules.
//! Exit 0 when no error-level rule fires, 1 when one does, 2 when the input cannot be read.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use slim::dockerfile::Dockerfile;
use slim::lint::{self, BuildContext, LintOptions, Report};

use super::{Outcome, UsageError, report_error};
use crate::cli::{LintArgs, LintFormat};
use crate::printer::Printer;

pub fn run(args: LintArgs, printer: &Printer) -> Outcome {
    lint_dockerfile(args, printer).unwrap_or_else(|e| report_error(&e))
}

fn lint_dockerfile(args: LintArgs, printer: &Printer) -> Result<Outcome> {
    let mut ignore = BTreeSet::new();
    for id in &args.ignore {
        let Some(rule) = lint::rule(id.trim()) else {
            bail!(UsageError(format!(
                "--ignore {id:?}: no such rule (the rules are {})",
                lint::RULES
                    .iter()
                    .map(|r| r.id)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        ignore.insert(rule.id.to_string());
    }

    let path = &args.dockerfile;
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(e.to_string()))
        .with_context(|| format!("cannot read the Dockerfile {shown}"))?;
    let dockerfile = Dockerfile::parse(&text)
        .map_err(|e| UsageError(e.to_string()))
        .with_context(|| format!("cannot parse {shown}"))?;

    let context_dir = args.context.clone().unwrap_or_else(|| dockerfile_dir(path));
    if !context_dir.is_dir() {
        bail!(UsageError(format!(
            "the build context {} is not a directory",
            context_dir.display()
        )));
    }
    let context = BuildContext::read(&context_dir, path)
        .map_err(|e| UsageError(e.to_string()))
        .with_context(|| format!("cannot read the build context {}", context_dir.display()))?;

    let findings = lint::lint(&dockerfile, &shown, &context, &LintOptions { ignore });
    let report = Report::new(&shown, findings);
    match args.format {
        LintFormat::Text => printer.result(&report.to_text()),
        LintFormat::Json => printer.result(&report.to_json()),
        LintFormat::Sarif => printer
            .result(&serde_json::to_string_pretty(&report.to_sarif()).context("writing SARIF")?),
    }
    Ok(if report.has_errors() {
        Outcome::Failure
    } else {
        Outcome::Success
    })
}

/// The directory a Dockerfile is in (`.` for a bare file name).
fn dockerfile_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn lint_args(args: &[&str]) -> LintArgs {
        let cli = Cli::try_parse_from(std::iter::once("slim").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{e}"));
        match cli.command {
            Some(Command::Lint(args)) => args,
            other => panic!("not lint: {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let args = lint_args(&["lint"]);
        assert_eq!(args.dockerfile, PathBuf::from("Dockerfile"));
        assert_eq!(args.context, None);
        assert_eq!(args.format, LintFormat::Text);
        assert!(args.ignore.is_empty());
    }

    #[test]
    fn every_option() {
        let args = lint_args(&[
            "lint",
            "app/Dockerfile.prod",
            "--context",
            ".",
            "--format",
            "sarif",
            "--ignore",
            "SL001,SL002",
            "--ignore",
            "SL010",
        ]);
        assert_eq!(args.dockerfile, PathBuf::from("app/Dockerfile.prod"));
        assert_eq!(args.context, Some(PathBuf::from(".")));
        assert_eq!(args.format, LintFormat::Sarif);
        assert_eq!(args.ignore, ["SL001", "SL002", "SL010"]);
        assert!(Cli::try_parse_from(["slim", "lint", "--format", "xml"]).is_err());
    }

    #[test]
    fn the_context_defaults_to_the_dockerfiles_directory() {
        assert_eq!(dockerfile_dir(Path::new("Dockerfile")), PathBuf::from("."));
        assert_eq!(
            dockerfile_dir(Path::new("app/Dockerfile")),
            PathBuf::from("app")
        );
        assert_eq!(
            dockerfile_dir(Path::new("/src/app/Dockerfile")),
            PathBuf::from("/src/app")
        );
    }
}
