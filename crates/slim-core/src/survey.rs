//! What an image holds, read from its layers: the final file tree (after whiteouts), the
//! things that make an image riskier (a shell, setuid files, a package manager), and layer
//! efficiency as dive defines it: the sum of the smallest copy of each path over the sum of
//! all copies, where a deletion is a copy of size 0.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use serde::Serialize;

/// The risk facts of a merged file tree (no layers needed): shell, package managers, setuid
/// files. The pack step collects them while it counts the source image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TreeFacts {
    pub shell: Option<String>,
    pub package_managers: Vec<String>,
    pub setuid: Vec<String>,
}

impl TreeFacts {
    /// Note one walked entry (call for every path of the tree).
    pub fn visit(&mut self, path: &str, is_file: bool, mode: u32) {
        if is_file && mode & 0o6000 != 0 {
            self.setuid.push(path.to_string());
        }
    }

    /// Fill in the shell and package managers from a lookup of single paths.
    pub fn look_up(&mut self, exists: impl Fn(&str) -> bool) {
        self.shell = SHELLS.iter().find(|s| exists(s)).map(|s| s.to_string());
        self.package_managers.clear();
        for (name, path) in PACKAGE_MANAGERS {
            if exists(path) && !self.package_managers.iter().any(|n| n == name) {
                self.package_managers.push(name.to_string());
            }
        }
    }
}

/// Shells whose presence lets an attacker who gets code execution do anything.
const SHELLS: &[&str] = &[
    "/bin/sh",
    "/usr/bin/sh",
    "/bin/bash",
    "/usr/bin/bash",
    "/bin/dash",
    "/usr/bin/dash",
    "/bin/ash",
    "/bin/zsh",
    "/usr/bin/zsh",
    "/bin/busybox",
    "/usr/bin/busybox",
];

/// Package managers, which let anything be installed at run time.
const PACKAGE_MANAGERS: &[(&str, &str)] = &[
    ("apt", "/usr/bin/apt"),
    ("apt-get", "/usr/bin/apt-get"),
    ("dpkg", "/usr/bin/dpkg"),
    ("apk", "/sbin/apk"),
    ("apk", "/usr/sbin/apk"),
    ("yum", "/usr/bin/yum"),
    ("dnf", "/usr/bin/dnf"),
    ("microdnf", "/usr/bin/microdnf"),
    ("rpm", "/usr/bin/rpm"),
    ("zypper", "/usr/bin/zypper"),
    ("pacman", "/usr/bin/pacman"),
    ("pip", "/usr/bin/pip"),
    ("pip", "/usr/local/bin/pip"),
    ("pip3", "/usr/bin/pip3"),
    ("pip3", "/usr/local/bin/pip3"),
    ("npm", "/usr/bin/npm"),
    ("npm", "/usr/local/bin/npm"),
    ("gem", "/usr/bin/gem"),
    ("gem", "/usr/local/bin/gem"),
];

/// The facts `slim compare` shows for one image.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Survey {
    pub layers: usize,
    /// regular files, symlinks and hardlinks in the final tree
    pub files: u64,
    /// bytes of regular files in the final tree
    pub file_bytes: u64,
    /// bytes of regular files over all layers, every copy counted
    pub layer_bytes: u64,
    /// dive's image efficiency, 0 to 1
    pub efficiency: f64,
    /// bytes stored in layers that the final tree does not need (overwritten or deleted copies)
    pub wasted_bytes: u64,
    /// the first shell found, if any
    pub shell: Option<String>,
    /// regular files with setuid or setgid bits
    pub setuid: Vec<String>,
    pub package_managers: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    File { size: u64, mode: u32 },
    Dir,
    Link,
}

/// Reads layers bottom to top and keeps what the survey needs.
#[derive(Debug, Default)]
pub struct SurveyBuilder {
    tree: BTreeMap<String, Node>,
    /// path → (sum of all copies, smallest copy)
    copies: HashMap<String, (u64, u64)>,
    layers: usize,
}

impl SurveyBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Apply one uncompressed layer tar.
    pub fn add_layer(&mut self, layer: impl Read) -> std::io::Result<()> {
        self.layers += 1;
        let mut archive = tar::Archive::new(layer);
        for entry in archive.entries()? {
            let entry = entry?;
            let raw = entry.path()?.to_string_lossy().into_owned();
            let Some(path) = normalize(&raw) else {
                continue;
            };
            let (dir, name) = split(&path);
            if name == ".wh..wh..opq" {
                self.remove_below(dir);
                continue;
            }
            if let Some(deleted) = name.strip_prefix(".wh.") {
                let target = if dir == "/" {
                    format!("/{deleted}")
                } else {
                    format!("{dir}/{deleted}")
                };
                self.remove(&target);
                self.count_copy(&target, 0);
                continue;
            }
            let header = entry.header();
            let node = match header.entry_type() {
                tar::EntryType::Directory => Node::Dir,
                tar::EntryType::Regular | tar::EntryType::Continuous => Node::File {
                    size: header.size()?,
                    mode: header.mode()?,
                },
                _ => Node::Link,
            };
            let size = match node {
                Node::File { size, .. } => size,
                _ => 0,
            };
            if node != Node::Dir {
                self.count_copy(&path, size);
            }
            // A file replacing a directory removes what was under it.
            if node != Node::Dir && matches!(self.tree.get(&path), Some(Node::Dir)) {
                self.remove_below(&path);
            }
            self.tree.insert(path, node);
        }
        Ok(())
    }

    fn count_copy(&mut self, path: &str, size: u64) {
        let copies = self.copies.entry(path.to_string()).or_insert((0, u64::MAX));
        copies.0 += size;
        copies.1 = copies.1.min(size);
    }

    fn remove(&mut self, path: &str) {
        self.tree.remove(path);
        self.remove_below(path);
    }

    fn remove_below(&mut self, dir: &str) {
        let prefix = if dir == "/" {
            "/".to_string()
        } else {
            format!("{dir}/")
        };
        let doomed: Vec<String> = self
            .tree
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .map(|(p, _)| p.clone())
            .collect();
        for path in doomed {
            self.tree.remove(&path);
        }
    }

    pub fn finish(self) -> Survey {
        let (mut minimum, mut all) = (0u64, 0u64);
        for (sum, min) in self.copies.values() {
            all += sum;
            minimum += min;
        }
        let efficiency = if all == 0 {
            1.0
        } else {
            minimum as f64 / all as f64
        };
        let mut survey = Survey {
            layers: self.layers,
            efficiency,
            layer_bytes: all,
            ..Default::default()
        };
        for (path, node) in &self.tree {
            match node {
                Node::File { size, mode } => {
                    survey.files += 1;
                    survey.file_bytes += size;
                    if mode & 0o6000 != 0 {
                        survey.setuid.push(path.clone());
                    }
                }
                Node::Link => survey.files += 1,
                Node::Dir => {}
            }
        }
        survey.wasted_bytes = all.saturating_sub(survey.file_bytes);
        let mut facts = TreeFacts::default();
        facts.look_up(|path| self.tree.contains_key(path));
        survey.shell = facts.shell;
        survey.package_managers = facts.package_managers;
        survey
    }
}

fn normalize(raw: &str) -> Option<String> {
    let parts: Vec<&str> = raw
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    (!parts.is_empty()).then(|| format!("/{}", parts.join("/")))
}

fn split(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(0) => ("/", &path[1..]),
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("/", path),
    }
}

/// Survey an image file's layers (each streamed and digest-checked).
pub fn survey_source(
    source: &crate::archive::ImageSource,
) -> Result<Survey, crate::archive::ArchiveError> {
    let mut builder = SurveyBuilder::new();
    for index in 0..source.layers.len() {
        let mut stream = source.layer_stream(index)?;
        let read = builder.add_layer(&mut stream);
        // A broken layer is reported with its digest and the path it broke at.
        stream.finish()?;
        read.map_err(|e| crate::archive::ArchiveError::Malformed {
            object: format!("layer {index} of {}", source.location),
            reason: e.to_string(),
        })?;
    }
    Ok(builder.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(entries: &[(&str, tar::EntryType, u32, usize)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, kind, mode, size) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_mode(*mode);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            header.set_size(*size as u64);
            if *kind == tar::EntryType::Symlink {
                builder.append_link(&mut header, name, "target").unwrap();
            } else {
                builder
                    .append_data(&mut header, name, vec![b'x'; *size].as_slice())
                    .unwrap();
            }
        }
        builder.into_inner().unwrap()
    }

    use tar::EntryType::{Directory as D, Regular as F, Symlink as L};

    #[test]
    fn wasted_layer_efficiency_matches_dives_definition() {
        let mut builder = SurveyBuilder::new();
        // layer 1: a 1000-byte app and a 9000-byte download
        builder
            .add_layer(
                layer(&[
                    ("app/", D, 0o755, 0),
                    ("app/run", F, 0o755, 1000),
                    ("tmp/big.tar", F, 0o644, 9000),
                ])
                .as_slice(),
            )
            .unwrap();
        // layer 2: the download removed, the app rewritten at 1200 bytes
        builder
            .add_layer(
                layer(&[
                    ("tmp/.wh.big.tar", F, 0o644, 0),
                    ("app/run", F, 0o755, 1200),
                ])
                .as_slice(),
            )
            .unwrap();
        let survey = builder.finish();
        // copies: app/run 1000 + 1200 (smallest 1000), big.tar 9000 + deletion 0 (smallest 0)
        let expected = (1000.0 + 0.0) / (1000.0 + 1200.0 + 9000.0);
        assert!(
            (survey.efficiency - expected).abs() < 1e-12,
            "{}",
            survey.efficiency
        );
        assert_eq!(survey.files, 1);
        assert_eq!(survey.file_bytes, 1200);
        assert_eq!(survey.wasted_bytes, 10_000);
        assert_eq!(survey.layers, 2);
    }

    #[test]
    fn single_layer_is_fully_efficient() {
        let mut builder = SurveyBuilder::new();
        builder
            .add_layer(layer(&[("bin/", D, 0o755, 0), ("bin/app", F, 0o755, 10)]).as_slice())
            .unwrap();
        let survey = builder.finish();
        assert_eq!(survey.efficiency, 1.0);
        assert_eq!(survey.wasted_bytes, 0);
    }

    #[test]
    fn finds_shells_setuid_and_package_managers() {
        let mut builder = SurveyBuilder::new();
        builder
            .add_layer(
                layer(&[
                    ("usr/bin/", D, 0o755, 0),
                    ("usr/bin/sh", L, 0o777, 0),
                    ("usr/bin/passwd", F, 0o4755, 5),
                    ("usr/bin/apt-get", F, 0o755, 5),
                    ("usr/bin/dpkg", F, 0o755, 5),
                    ("opt/", D, 0o755, 0),
                    ("opt/tool", F, 0o755, 5),
                ])
                .as_slice(),
            )
            .unwrap();
        // an opaque directory hides what lower layers had in it
        builder
            .add_layer(
                layer(&[("opt/", D, 0o755, 0), ("opt/.wh..wh..opq", F, 0o644, 0)]).as_slice(),
            )
            .unwrap();
        let survey = builder.finish();
        assert_eq!(survey.shell.as_deref(), Some("/usr/bin/sh"));
        assert_eq!(survey.setuid, ["/usr/bin/passwd"]);
        assert_eq!(survey.package_managers, ["apt-get", "dpkg"]);
        assert_eq!(
            survey.files, 4,
            "opt/tool is hidden by the opaque directory"
        );
    }
}
