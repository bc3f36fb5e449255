//! `slim profiles`: the runtime profiles slim applies, and what each keeps.

use std::fmt::Write as _;

use anyhow::Result;
use slim::resolve::profile::load_profiles;

use super::{Outcome, UsageError, report_error};
use crate::cli::ProfilesArgs;
use crate::printer::Printer;

pub fn run(args: ProfilesArgs, printer: &Printer) -> Outcome {
    match list(&args) {
        Ok(text) => {
            printer.result(&text);
            Outcome::Success
        }
        Err(e) => report_error(&e),
    }
}

fn list(args: &ProfilesArgs) -> Result<String> {
    let profiles = load_profiles(&args.profile).map_err(|e| UsageError(e.to_string()))?;
    if args.json {
        let specs: Vec<_> = profiles.iter().map(|p| p.spec()).collect();
        return Ok(serde_json::to_string_pretty(&specs)?);
    }
    let mut out = String::new();
    for profile in &profiles {
        let spec = profile.spec();
        let _ = writeln!(out, "{}\n  {}", spec.name, spec.about);
        let when = if spec.when_traced {
            "applies when traced"
        } else {
            "applies when kept"
        };
        let _ = writeln!(out, "  {when}: {}", spec.when.join(", "));
        let mut rules = Vec::new();
        for (label, items) in [
            ("keeps", &spec.keep),
            ("whole once touched", &spec.whole_dir),
            ("packages under", &spec.packages_under),
            ("writable", &spec.writable),
        ] {
            if !items.is_empty() {
                rules.push(format!("{label}: {}", items.join(", ")));
            }
        }
        for rule in rules {
            let _ = writeln!(out, "  {rule}");
        }
        out.push('\n');
    }
    out.push_str("Add or replace profiles with --profile FILE (TOML; the built-in files in the\nsource tree's profiles/ directory document every key).");
    Ok(out)
}
