//! Applying runtime profiles to the kept set. Everything a profile keeps goes through the
//! same path walking, exclusion and ELF closure as any other kept path.
//!
//! A profile that does not apply costs one `when` match per kept path. Once it applies, its
//! rules look at every kept path once; directory roles are remembered, so climbing the
//! ancestors of thousands of files in one package stays cheap.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::Resolver;
use crate::resolve::keep::Reason;
use crate::resolve::profile::expand::expand;
use crate::resolve::profile::pattern::{Component, PathPattern};
use crate::resolve::profile::{Profile, ProfileFiring};
use crate::resolve::tree::Kind;
use crate::resolve::walk::{ancestors, join, parent};

/// What the resolver remembers about one profile between rounds.
#[derive(Debug, Default)]
pub(super) struct ProfileRun {
    /// index into `Resolution.profiles_fired`, once the profile applies
    firing: Option<usize>,
    /// capture values whose `keep` and `writable` were expanded
    bound: HashSet<BTreeMap<String, String>>,
    /// directories kept whole (by `whole_dir` or as packages)
    whole: HashSet<String>,
    /// directory -> (matches `whole_dir`, matches `packages_under`)
    dir_roles: HashMap<String, (bool, bool)>,
    /// per `ancestor_files` rule, directories already looked in
    ancestors_done: Vec<HashSet<String>>,
}

impl Resolver<'_> {
    /// One round: offer the paths kept since the last round to every profile.
    pub(super) fn apply_profiles(&mut self, profiles: &[Profile]) {
        if profiles.is_empty() {
            return;
        }
        let new: Vec<String> = self
            .keep
            .paths
            .keys()
            .filter(|p| !self.offered_to_profiles.contains(*p))
            .cloned()
            .collect();
        if new.is_empty() {
            return;
        }
        self.offered_to_profiles.extend(new.iter().cloned());
        for (index, profile) in profiles.iter().enumerate() {
            let Some(slot) = self.profile_runs.get_mut(index) else {
                continue;
            };
            let mut run = std::mem::take(slot);
            self.apply_profile(profile, &mut run, &new);
            if let Some(slot) = self.profile_runs.get_mut(index) {
                *slot = run;
            }
        }
    }

    fn apply_profile(&mut self, profile: &Profile, run: &mut ProfileRun, new: &[String]) {
        let applied_before = run.firing.is_some();
        let mut bindings = Vec::new();
        for path in new {
            if profile.spec().when_traced && !self.traced_names.contains(path) {
                continue;
            }
            for pattern in &profile.when {
                // the cheap test first: most kept paths match no `when`
                if !pattern.is_match(path) {
                    continue;
                }
                let Some(values) = pattern.captures(path) else {
                    continue;
                };
                if run.firing.is_none() {
                    run.firing = Some(self.out.profiles_fired.len());
                    self.out.profiles_fired.push(ProfileFiring {
                        name: profile.name().to_string(),
                        trigger: path.clone(),
                        kept: 0,
                    });
                }
                if run.bound.insert(values.clone()) {
                    bindings.push(values);
                }
            }
        }
        let Some(firing) = run.firing else {
            return;
        };
        let before = self.keep.len();
        let via = format!("profile:{}", profile.name());
        self.left_out = profile.leave_out.clone();
        for values in &bindings {
            for pattern in &profile.keep {
                for path in self.expand_template(pattern, values) {
                    self.keep_extra(&path, Reason::Profile, Some(&via));
                }
            }
            for pattern in &profile.writable {
                for path in self.expand_template(pattern, values) {
                    self.keep_writable(&path, &via);
                }
            }
        }
        // A profile that starts to apply now also looks at what was kept before.
        let scan: Vec<String> = if applied_before {
            new.to_vec()
        } else {
            let mut all: Vec<String> = self.offered_to_profiles.iter().cloned().collect();
            all.sort();
            all
        };
        if run.ancestors_done.len() < profile.ancestor_files.len() {
            run.ancestors_done
                .resize_with(profile.ancestor_files.len(), HashSet::new);
        }
        for path in &scan {
            self.apply_path_rules(profile, run, path, &via);
        }
        // what the kept files need is kept whatever the profile says
        self.left_out.clear();
        self.drain_queue();
        let added = self.keep.len() - before;
        if let Some(entry) = self.out.profiles_fired.get_mut(firing) {
            entry.kept += added;
        }
    }

    fn apply_path_rules(&mut self, profile: &Profile, run: &mut ProfileRun, path: &str, via: &str) {
        if !profile.whole_dir.is_empty() || !profile.packages_under.is_empty() {
            self.keep_enclosing_dirs(profile, run, path, via);
        }
        let is_file = self.tree.entry(path).is_some_and(|e| e.kind != Kind::Dir);
        if is_file && profile.twins.iter().any(|t| t.of.is_match(path)) {
            let values = twin_values(path);
            for twin in profile.twins.iter().filter(|t| t.of.is_match(path)) {
                for pattern in &twin.keep {
                    for found in self.expand_template(pattern, &values) {
                        self.keep_extra(&found, Reason::Profile, Some(via));
                    }
                }
            }
        }
        for (rule, done) in profile
            .ancestor_files
            .iter()
            .zip(run.ancestors_done.iter_mut())
        {
            if !rule.of.is_match(path) {
                continue;
            }
            let dirs = parent(path).into_iter().flat_map(|p| {
                std::iter::once(p)
                    .chain(ancestors(p))
                    .chain((p != "/").then_some("/"))
            });
            let mut found = Vec::new();
            for dir in dirs {
                if !done.insert(dir.to_string()) {
                    break; // this directory and all above it were looked in already
                }
                for name in &rule.names {
                    let candidate = join(dir, name);
                    if self.tree.entry(&candidate).is_some() {
                        found.push(candidate);
                    }
                }
            }
            for candidate in found {
                self.keep_extra(&candidate, Reason::Profile, Some(via));
            }
        }
    }

    /// `whole_dir` and `packages_under`: keep whole the directories enclosing `path`
    /// that the profile says belong together.
    fn keep_enclosing_dirs(
        &mut self,
        profile: &Profile,
        run: &mut ProfileRun,
        path: &str,
        via: &str,
    ) {
        let mut to_keep = Vec::new();
        // `below` is the ancestor one level under `dir` on the way to `path`
        let mut below = path;
        for dir in ancestors(path) {
            let (whole, root) = *run.dir_roles.entry(dir.to_string()).or_insert_with(|| {
                (
                    profile.whole_dir.iter().any(|p| p.is_match(dir)),
                    profile.packages_under.iter().any(|p| p.is_match(dir)),
                )
            });
            if whole && run.whole.insert(dir.to_string()) {
                to_keep.push(dir.to_string());
            }
            if root && below != path {
                let name = below.rsplit('/').next().unwrap_or_default();
                let skipped = profile.skip_packages.iter().any(|p| p.is_match(name));
                let is_dir = self.tree.entry(below).is_some_and(|e| e.kind == Kind::Dir);
                if !skipped && is_dir && run.whole.insert(below.to_string()) {
                    to_keep.push(below.to_string());
                }
            }
            below = dir;
        }
        for dir in to_keep {
            self.keep_extra(&dir, Reason::Profile, Some(via));
        }
    }

    /// A path the app's user must be able to write: kept (a directory alone, not its
    /// contents) and reported writable.
    fn keep_writable(&mut self, path: &str, via: &str) {
        let walk = match self.walk(path) {
            Ok(walk) => walk,
            Err(e) => {
                self.warn(e.to_string());
                return;
            }
        };
        if let Some((real, entry)) = self.keep_walk(path, &walk, Reason::Profile, Some(via))
            && matches!(entry.kind, Kind::Dir | Kind::File)
        {
            self.out.writable_dirs.insert(real);
        }
    }

    /// Every existing path `pattern` names with `values` bound. A trailing `**` is dropped:
    /// keeping a directory keeps its tree anyway.
    fn expand_template(
        &mut self,
        pattern: &PathPattern,
        values: &BTreeMap<String, String>,
    ) -> Vec<String> {
        let mut components = match pattern.bind(values) {
            Ok(components) => components,
            Err(e) => {
                self.warn(e.to_string());
                return Vec::new();
            }
        };
        if matches!(components.last(), Some(Component::AnyDepth)) {
            components.pop();
        }
        let exclude = &self.exclude;
        expand(self.tree, &components, &|p| exclude.is_excluded(p))
    }
}

/// `{dir}`, `{parent}`, `{name}` and `{base}` of a file for `twins` templates.
fn twin_values(path: &str) -> BTreeMap<String, String> {
    let dir = parent(path).unwrap_or("/");
    let name = path.rsplit('/').next().unwrap_or_default();
    let base = name.split('.').next().unwrap_or_default();
    BTreeMap::from([
        ("dir".to_string(), dir.to_string()),
        ("parent".to_string(), parent(dir).unwrap_or("/").to_string()),
        ("name".to_string(), name.to_string()),
        ("base".to_string(), base.to_string()),
    ])
}

#[cfg(test)]
#[path = "resolver_profiles_tests.rs"]
mod tests;
