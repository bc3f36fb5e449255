//! The package manager's database, trimmed to the packages a slim image still holds files
//! of, so scanners (trivy, grype, syft) report what is really in the image.
//!
//! dpkg: /var/lib/dpkg/status plus one `info/NAME.list` (paths) and `info/NAME.md5sums`
//! per package. apk: /lib/apk/db/installed, one stanza per package (`P:` name, `F:` a
//! directory, `R:` a file in the last `F:` directory, both relative to the root).
//! rpm keeps its database in SQLite/BerkeleyDB files and is not supported.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::tree::{FileTree, Kind};
use super::walk::{is_clean_path, join, normalize_lexical, parent, resolve_path_guarded};

pub const DPKG_STATUS: &str = "/var/lib/dpkg/status";
pub const DPKG_INFO: &str = "/var/lib/dpkg/info";
pub const APK_INSTALLED: &str = "/lib/apk/db/installed";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageDbFormat {
    Dpkg,
    Apk,
}

/// The packages that still own a kept file. The resolver keeps the database files of
/// these packages; trimming the status file (dpkg) or the installed file (apk) to them is
/// the rebuilder's job. rpm is not supported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageDb {
    pub format: PackageDbFormat,
    /// the database file listing every installed package
    pub status_path: String,
    /// dpkg: info file stems, `NAME` or `NAME:ARCH` (Multi-Arch: same packages);
    /// apk: `P:` names
    pub packages: BTreeSet<String>,
}

/// The selected packages and the database files to keep for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub db: PackageDb,
    pub files: Vec<String>,
}

/// Decides whether a path a package lists is in the slim image. Package databases name
/// paths as installed (`/bin/dash` on a merged-/usr system whose real path is
/// `/usr/bin/dash`), so the directory part is resolved through symlinks first.
struct Ownership<'a> {
    tree: &'a dyn FileTree,
    blocked: &'a dyn Fn(&str) -> bool,
    is_kept: &'a dyn Fn(&str) -> bool,
    real_dirs: HashMap<String, Option<String>>,
}

impl Ownership<'_> {
    fn real_dir(&mut self, dir: &str) -> Option<String> {
        if let Some(known) = self.real_dirs.get(dir) {
            return known.clone();
        }
        let real = resolve_path_guarded(self.tree, dir, self.blocked)
            .ok()
            .and_then(|walk| {
                walk.target()
                    .filter(|(_, e)| e.kind == Kind::Dir)
                    .map(|(p, _)| p.to_string())
            });
        self.real_dirs.insert(dir.to_string(), real.clone());
        real
    }

    /// True if `path` names a kept file, or a kept symlink that does not lead to a directory.
    fn owns_kept(&mut self, path: &str) -> bool {
        let Some(path) = normalize_lexical(path).filter(|p| is_clean_path(p)) else {
            return false;
        };
        let Some(dir) = parent(&path) else {
            return false;
        };
        let name = path[dir.len()..].trim_start_matches('/');
        if name.is_empty() {
            return false;
        }
        let Some(real_dir) = self.real_dir(dir) else {
            return false;
        };
        let candidate = join(&real_dir, name);
        if !(self.is_kept)(&candidate) {
            return false;
        }
        // A symlink to a directory is a directory to the package manager: merged-/usr
        // turned the /lib every package lists into a link, which owns nothing.
        match self.tree.entry(&candidate).map(|e| e.kind) {
            Some(Kind::Dir) | None => false,
            Some(Kind::Symlink(_)) => self.real_dir(&candidate).is_none(),
            Some(_) => true,
        }
    }
}

/// Paths of one dpkg `.list` file (absolute, one per line; "/." stands for the root).
pub fn dpkg_list_paths(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim_end)
        .filter(|line| line.starts_with('/') && *line != "/.")
}

/// (package, paths) for every stanza of apk's `installed` file.
pub fn apk_installed_packages(text: &str) -> Vec<(String, Vec<String>)> {
    let mut packages = Vec::new();
    let mut name: Option<String> = None;
    let mut dir = String::new();
    let mut paths = Vec::new();
    let mut finish = |name: &mut Option<String>, paths: &mut Vec<String>| {
        if let Some(name) = name.take() {
            packages.push((name, std::mem::take(paths)));
        }
        paths.clear();
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            finish(&mut name, &mut paths);
            dir.clear();
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key {
            "P" => name = Some(value.to_string()),
            "F" => {
                dir = format!("/{}", value.trim_matches('/'));
                paths.push(dir.clone());
            }
            "R" if !dir.is_empty() => paths.push(join(&dir, value)),
            "R" => paths.push(format!("/{value}")),
            _ => {}
        }
    }
    finish(&mut name, &mut paths);
    packages
}

/// Select the dpkg or apk packages owning a kept non-directory path; `None` if the image
/// has neither database.
pub fn select_packages(
    tree: &dyn FileTree,
    blocked: &dyn Fn(&str) -> bool,
    is_kept: &dyn Fn(&str) -> bool,
    warnings: &mut Vec<String>,
) -> Option<Selection> {
    let mut ownership = Ownership {
        tree,
        blocked,
        is_kept,
        real_dirs: HashMap::new(),
    };
    if let Some(status) = existing_file(tree, blocked, DPKG_STATUS) {
        return Some(select_dpkg(&mut ownership, status, warnings));
    }
    let installed = existing_file(tree, blocked, APK_INSTALLED)?;
    let text = match tree.read(&installed) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            warnings.push(format!("{APK_INSTALLED}: {e}"));
            return None;
        }
    };
    let mut db = PackageDb {
        format: PackageDbFormat::Apk,
        status_path: APK_INSTALLED.to_string(),
        packages: BTreeSet::new(),
    };
    for (name, paths) in apk_installed_packages(&text) {
        if paths.iter().any(|p| ownership.owns_kept(p)) {
            db.packages.insert(name);
        }
    }
    Some(Selection {
        db,
        files: vec![APK_INSTALLED.to_string()],
    })
}

fn select_dpkg(
    ownership: &mut Ownership<'_>,
    status: String,
    warnings: &mut Vec<String>,
) -> Selection {
    let tree = ownership.tree;
    let mut db = PackageDb {
        format: PackageDbFormat::Dpkg,
        status_path: DPKG_STATUS.to_string(),
        packages: BTreeSet::new(),
    };
    let mut files = vec![status];
    let info = existing_dir(tree, ownership.blocked, DPKG_INFO);
    let names = info
        .as_deref()
        .map(|dir| tree.list(dir))
        .unwrap_or_default();
    for name in &names {
        let Some(package) = name.strip_suffix(".list") else {
            continue;
        };
        let Some(info) = info.as_deref() else {
            break;
        };
        let list = join(info, name);
        let text = match tree.read(&list) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                warnings.push(format!("{list}: {e}"));
                continue;
            }
        };
        if dpkg_list_paths(&text).any(|p| ownership.owns_kept(p)) {
            db.packages.insert(package.to_string());
            files.push(list);
            let md5sums = join(info, &format!("{package}.md5sums"));
            if tree.entry(&md5sums).is_some() {
                files.push(md5sums);
            }
        }
    }
    Selection { db, files }
}

/// Every path a dpkg or apk package installed, as a real path (the directory part resolved
/// through symlinks, so `/bin/sh` of a merged-/usr image is `/usr/bin/sh`); `None` when the
/// image has neither database.
pub fn owned_paths(
    tree: &dyn FileTree,
    blocked: &dyn Fn(&str) -> bool,
    warnings: &mut Vec<String>,
) -> Option<HashSet<String>> {
    package_owners(tree, blocked, warnings).map(|owners| owners.paths.into_keys().collect())
}

/// Which package installed each path.
#[derive(Debug, Clone, Default)]
pub struct Owners {
    pub format: Option<PackageDbFormat>,
    /// real path -> package (dpkg: the info file stem, `NAME` or `NAME:ARCH`; apk: `P:`)
    pub paths: HashMap<String, String>,
}

/// The package that installed every path, from the dpkg or apk database; `None` when the
/// image has neither.
pub fn package_owners(
    tree: &dyn FileTree,
    blocked: &dyn Fn(&str) -> bool,
    warnings: &mut Vec<String>,
) -> Option<Owners> {
    let mut ownership = Ownership {
        tree,
        blocked,
        is_kept: &|_| false,
        real_dirs: HashMap::new(),
    };
    let mut owners = Owners::default();
    let mut add = |ownership: &mut Ownership<'_>, path: &str, package: &str| {
        let Some(path) = normalize_lexical(path).filter(|p| is_clean_path(p)) else {
            return;
        };
        let real = match parent(&path) {
            Some(dir) => {
                let name = &path[dir.len()..].trim_start_matches('/');
                ownership.real_dir(dir).map(|real| join(&real, name))
            }
            None => Some(path),
        };
        if let Some(real) = real {
            owners
                .paths
                .entry(real)
                .or_insert_with(|| package.to_string());
        }
    };
    let read = |path: &str, warnings: &mut Vec<String>| match tree.read(path) {
        Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) => {
            warnings.push(format!("{path}: {e}"));
            None
        }
    };
    if existing_file(tree, blocked, DPKG_STATUS).is_some() {
        let info = existing_dir(tree, blocked, DPKG_INFO)?;
        for name in tree.list(&info).iter().filter(|n| n.ends_with(".list")) {
            let package = name.trim_end_matches(".list");
            if let Some(text) = read(&join(&info, name), warnings) {
                for path in dpkg_list_paths(&text) {
                    add(&mut ownership, path, package);
                }
            }
        }
        owners.format = Some(PackageDbFormat::Dpkg);
        return Some(owners);
    }
    let installed = existing_file(tree, blocked, APK_INSTALLED)?;
    let text = read(&installed, warnings)?;
    for (package, paths) in apk_installed_packages(&text) {
        for path in &paths {
            add(&mut ownership, path, &package);
        }
    }
    owners.format = Some(PackageDbFormat::Apk);
    Some(owners)
}

/// A package of the image with the kept files it owns, for the SBOM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstalledPackage {
    pub name: String,
    pub version: String,
    pub architecture: String,
    /// the source package, where it differs (dpkg `Source:`)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// as the database states it (apk `L:`), or for dpkg the package's machine-readable
    /// copyright file
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    pub format: PackageDbFormat,
    /// kept paths it installed
    pub files: Vec<String>,
}

/// The packages that own kept files, with their versions from the status database.
pub fn installed_packages(
    tree: &dyn FileTree,
    blocked: &dyn Fn(&str) -> bool,
    owners: &Owners,
    kept: &dyn Fn(&str) -> bool,
    warnings: &mut Vec<String>,
) -> Vec<InstalledPackage> {
    let Some(format) = owners.format else {
        return Vec::new();
    };
    let mut files: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for (path, package) in &owners.paths {
        // Directories (and symlinks to them, like a merged /usr's /lib) are shared by many
        // packages and say nothing about which ones are still there.
        let names_a_file = tree.entry(path).is_some_and(|e| e.kind != Kind::Dir)
            && existing_dir(tree, blocked, path).is_none();
        if kept(path) && names_a_file {
            files
                .entry(package.as_str())
                .or_default()
                .push(path.clone());
        }
    }
    let status_path = match format {
        PackageDbFormat::Dpkg => DPKG_STATUS,
        PackageDbFormat::Apk => APK_INSTALLED,
    };
    let Some(status) = existing_file(tree, blocked, status_path) else {
        return Vec::new();
    };
    let text = match tree.read(&status) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            warnings.push(format!("{status_path}: {e}"));
            return Vec::new();
        }
    };
    let mut packages = Vec::new();
    for stanza in text.split("\n\n") {
        let field = |key: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim().to_string())
        };
        let (name, version, architecture, source, license) = match format {
            PackageDbFormat::Dpkg => (
                field("Package:"),
                field("Version:"),
                field("Architecture:"),
                field("Source:").map(|s| s.split_whitespace().next().unwrap_or(&s).to_string()),
                None,
            ),
            PackageDbFormat::Apk => (field("P:"), field("V:"), field("A:"), None, field("L:")),
        };
        let Some(name) = name else { continue };
        let with_arch = architecture.as_ref().map(|a| format!("{name}:{a}"));
        let owned = files
            .get(name.as_str())
            .or_else(|| with_arch.as_deref().and_then(|n| files.get(n)));
        let Some(owned) = owned else { continue };
        let mut owned = owned.clone();
        owned.sort();
        let license = license.or_else(|| match format {
            PackageDbFormat::Dpkg => debian_license(tree, blocked, &name),
            PackageDbFormat::Apk => None,
        });
        packages.push(InstalledPackage {
            name,
            version: version.unwrap_or_default(),
            architecture: architecture.unwrap_or_default(),
            source,
            license,
            format,
            files: owned,
        });
    }
    packages.sort_by(|a, b| (&a.name, &a.architecture).cmp(&(&b.name, &b.architecture)));
    packages
}

/// Real path of `path` if it is a regular file.
/// The license a Debian package's machine-readable copyright file gives its files.
fn debian_license(
    tree: &dyn FileTree,
    blocked: &dyn Fn(&str) -> bool,
    name: &str,
) -> Option<String> {
    let path = existing_file(tree, blocked, &format!("/usr/share/doc/{name}/copyright"))?;
    let bytes = tree.read(&path).ok()?;
    super::copyright::main_license(&String::from_utf8_lossy(&bytes))
}

/// The distribution's `ID` from os-release (`debian`, `alpine`), the namespace of its
/// package URLs.
pub fn distribution_id(tree: &dyn FileTree, blocked: &dyn Fn(&str) -> bool) -> Option<String> {
    let path = ["/etc/os-release", "/usr/lib/os-release"]
        .into_iter()
        .find_map(|p| existing_file(tree, blocked, p))?;
    let text = String::from_utf8(tree.read(&path).ok()?).ok()?;
    os_release_id(&text)
}

fn os_release_id(text: &str) -> Option<String> {
    let value = text.lines().find_map(|l| l.trim().strip_prefix("ID="))?;
    let id = value.trim().trim_matches(|c| c == '"' || c == '\'');
    (!id.is_empty()).then(|| id.to_string())
}

fn existing_file(
    tree: &dyn FileTree,
    blocked: &dyn Fn(&str) -> bool,
    path: &str,
) -> Option<String> {
    let walk = resolve_path_guarded(tree, path, blocked).ok()?;
    let (real, entry) = walk.target()?;
    (entry.kind == Kind::File).then(|| real.to_string())
}

fn existing_dir(tree: &dyn FileTree, blocked: &dyn Fn(&str) -> bool, path: &str) -> Option<String> {
    let walk = resolve_path_guarded(tree, path, blocked).ok()?;
    let (real, entry) = walk.target()?;
    (entry.kind == Kind::Dir).then(|| real.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_id_is_unquoted() {
        let text = "PRETTY_NAME=\"Debian GNU/Linux 12\"\nVERSION_ID=\"12\"\nID=debian\n";
        assert_eq!(os_release_id(text).as_deref(), Some("debian"));
        assert_eq!(os_release_id("ID=\"alpine\"\n").as_deref(), Some("alpine"));
        assert_eq!(os_release_id("ID_LIKE=debian\n"), None);
    }

    #[test]
    fn dpkg_lists_skip_the_root_marker() {
        let text = "/.\n/usr\n/usr/bin\n/usr/bin/dash\n/bin/sh\n";
        assert_eq!(
            dpkg_list_paths(text).collect::<Vec<_>>(),
            ["/usr", "/usr/bin", "/usr/bin/dash", "/bin/sh"]
        );
    }

    #[test]
    fn apk_stanzas_join_dirs_and_files() {
        let text = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nF:lib\nR:ld-musl-x86_64.so.1\nR:libc.musl-x86_64.so.1\n\n\
                    P:busybox\nF:bin\nR:busybox\nF:etc\nR:securetty\n\nP:alpine-baselayout-data\n";
        let packages = apk_installed_packages(text);
        assert_eq!(packages.len(), 3);
        assert_eq!(packages[0].0, "musl");
        assert_eq!(
            packages[0].1,
            [
                "/lib",
                "/lib/ld-musl-x86_64.so.1",
                "/lib/libc.musl-x86_64.so.1"
            ]
        );
        assert_eq!(
            packages[1].1,
            ["/bin", "/bin/busybox", "/etc", "/etc/securetty"]
        );
        assert!(packages[2].1.is_empty());
    }
}
