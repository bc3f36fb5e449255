//! Where progress and results go: spinners on a terminal, plain lines otherwise, nothing
//! with --quiet. Commands call the printer; they never test those modes themselves.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use slim::pipeline::{Display, StageHandle};
use slim::progress::Progress;
use slim::report::BuildReport;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Quiet,
    Plain,
    Spinner,
}

pub struct Printer {
    style: Style,
    /// print results as JSON instead of tables
    json: bool,
}

impl Printer {
    pub fn new(quiet: bool, json: bool) -> Self {
        let style = if quiet {
            Style::Quiet
        } else if std::io::stderr().is_terminal() {
            Style::Spinner
        } else {
            Style::Plain
        };
        Printer { style, json }
    }

    /// Start a stage; progress messages go to it until it is finished.
    pub fn stage(&self, name: &str) -> Stage {
        let bar = match self.style {
            Style::Spinner => Some(spinner(ProgressBar::new_spinner(), name)),
            Style::Plain => {
                eprintln!("==> {name}");
                None
            }
            Style::Quiet => None,
        };
        Stage {
            name: name.to_string(),
            style: self.style,
            bar,
            started: Instant::now(),
            last: Mutex::new(String::new()),
        }
    }

    /// The end of a build: the JSON report, the table, or (quiet) just the image name.
    pub fn build_report(&self, report: &BuildReport, json: &str, saved_to: &Path) {
        if self.json {
            self.result(json);
        } else if self.style == Style::Quiet {
            self.result(&report.output.reference);
        } else {
            self.result(&report.table());
            self.note(&format!("report: {}", saved_to.display()));
        }
    }

    /// True when results are to be printed as JSON (--json).
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// A result on stdout.
    pub fn result(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
    }

    /// Informational line on stderr (not in quiet mode).
    pub fn note(&self, text: &str) {
        if self.style != Style::Quiet {
            eprintln!("{text}");
        }
    }

    pub fn warn(&self, text: &str) {
        eprintln!("warning: {text}");
    }
}

/// `bar` as every spinner of slim looks: a spinner, `prefix` in bold, the message dimmed.
fn spinner(bar: ProgressBar, prefix: &str) -> ProgressBar {
    bar.set_style(
        ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold} {wide_msg:.dim}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_prefix(prefix.to_string());
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// "✓ analyze (1.2s) 12 path(s) touched…": a stage that ended well.
fn done_line(stage: &str, took: Duration, summary: &str) -> String {
    let line = format!("✓ {stage} ({:.1}s) {summary}", took.as_secs_f64());
    line.trim_end().to_string()
}

/// "✗ analyze (1.2s)": a stage that failed.
fn failed_line(stage: &str, took: Duration) -> String {
    format!("✗ {stage} ({:.1}s)", took.as_secs_f64())
}

/// A running stage; reports its time when finished.
pub struct Stage {
    name: String,
    style: Style,
    bar: Option<ProgressBar>,
    started: Instant,
    last: Mutex<String>,
}

impl Stage {
    /// Finish successfully with a short summary; returns the stage's duration.
    pub fn done(self, summary: &str) -> Duration {
        let elapsed = self.started.elapsed();
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if self.style != Style::Quiet {
            eprintln!("{}", done_line(&self.name, elapsed, summary));
        }
        elapsed
    }

    /// Finish without success (the error is reported by the caller).
    pub fn fail(self) -> Duration {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let elapsed = self.started.elapsed();
        if self.style != Style::Quiet {
            eprintln!("{}", failed_line(&self.name, elapsed));
        }
        elapsed
    }
}

impl Progress for Stage {
    fn step(&self, message: &str) {
        match (&self.bar, self.style) {
            (Some(bar), _) => bar.set_message(message.to_string()),
            (None, Style::Plain) => {
                // Retry loops repeat their message; print each one once.
                if let Ok(mut last) = self.last.lock()
                    && *last != message
                {
                    eprintln!("    {message}");
                    *last = message.to_string();
                }
            }
            _ => {}
        }
    }
}

impl StageHandle for Stage {
    fn done(self: Box<Self>, summary: &str) -> Duration {
        Stage::done(*self, summary)
    }

    fn fail(self: Box<Self>) {
        Stage::fail(*self);
    }
}

impl Display for Printer {
    fn stage(&self, name: &str) -> Box<dyn StageHandle + '_> {
        Box::new(Printer::stage(self, name))
    }

    fn note(&self, text: &str) {
        Printer::note(self, text);
    }

    fn warn(&self, text: &str) {
        Printer::warn(self, text);
    }
}

/// Progress of one build among several running at once: a spinner line per build on a
/// terminal (its current stage and step), or plain lines prefixed with the build's name.
pub struct JobDisplay {
    label: String,
    style: Style,
    bar: Option<ProgressBar>,
    multi: indicatif::MultiProgress,
}

impl Printer {
    /// The shared area the builds of a batch draw their lines in.
    pub fn multi(&self) -> indicatif::MultiProgress {
        match self.style {
            Style::Spinner => indicatif::MultiProgress::new(),
            _ => {
                indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden())
            }
        }
    }

    /// The display of one build of a batch, named `label`.
    pub fn job(&self, label: &str, multi: &indicatif::MultiProgress) -> JobDisplay {
        let bar = (self.style == Style::Spinner).then(|| {
            let bar = spinner(multi.add(ProgressBar::new_spinner()), label);
            bar.set_message("starting");
            bar
        });
        JobDisplay {
            label: label.to_string(),
            style: self.style,
            bar,
            multi: multi.clone(),
        }
    }
}

impl JobDisplay {
    fn line(&self, text: &str) {
        match self.style {
            Style::Quiet => {}
            Style::Spinner => {
                let _ = self.multi.println(format!("{} {text}", self.label));
            }
            Style::Plain => eprintln!("[{}] {text}", self.label),
        }
    }

    /// The build ended; `summary` says how.
    pub fn finish(&self, summary: &str) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.line(summary);
    }
}

/// One stage of one build of a batch.
pub struct JobStage<'a> {
    job: &'a JobDisplay,
    name: String,
    started: Instant,
}

impl Progress for JobStage<'_> {
    fn step(&self, message: &str) {
        if let Some(bar) = &self.job.bar {
            bar.set_message(format!("{}: {message}", self.name));
        }
    }
}

impl StageHandle for JobStage<'_> {
    fn done(self: Box<Self>, summary: &str) -> Duration {
        let took = self.started.elapsed();
        if self.job.style == Style::Plain {
            self.job.line(&done_line(&self.name, took, summary));
        }
        took
    }

    fn fail(self: Box<Self>) {
        self.job
            .line(&failed_line(&self.name, self.started.elapsed()));
    }
}

impl Display for JobDisplay {
    fn stage(&self, name: &str) -> Box<dyn StageHandle + '_> {
        if let Some(bar) = &self.bar {
            bar.set_message(name.to_string());
        }
        Box::new(JobStage {
            job: self,
            name: name.to_string(),
            started: Instant::now(),
        })
    }

    fn note(&self, text: &str) {
        self.line(text);
    }

    fn warn(&self, text: &str) {
        // warnings show even with --quiet, like the printer's
        match self.style {
            Style::Quiet | Style::Plain => eprintln!("[{}] warning: {text}", self.label),
            Style::Spinner => {
                let _ = self
                    .multi
                    .println(format!("{} warning: {text}", self.label));
            }
        }
    }
}
