//! Trimming the package manager's status file to the packages the slim image still holds
//! files of (the resolver chose them; see `resolve::packagedb`).

use std::collections::BTreeSet;

use crate::resolve::packagedb::PackageDbFormat;

/// The status file text with only the stanzas of `packages` left, in their original order.
pub fn trim_status(text: &str, format: PackageDbFormat, packages: &BTreeSet<String>) -> String {
    let mut out = String::new();
    for stanza in text.split("\n\n").filter(|s| !s.trim().is_empty()) {
        if keeps(stanza, format, packages) {
            out.push_str(stanza.trim_matches('\n'));
            out.push_str("\n\n");
        }
    }
    out
}

fn keeps(stanza: &str, format: PackageDbFormat, packages: &BTreeSet<String>) -> bool {
    let field = |prefix: &str| {
        stanza
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
    };
    match format {
        PackageDbFormat::Dpkg => {
            let Some(name) = field("Package:") else {
                return false;
            };
            let with_arch = field("Architecture:").map(|arch| format!("{name}:{arch}"));
            packages.contains(name) || with_arch.is_some_and(|n| packages.contains(&n))
        }
        PackageDbFormat::Apk => field("P:").is_some_and(|name| packages.contains(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_selected_dpkg_stanzas() {
        let status = "Package: base-files\nStatus: install ok installed\nArchitecture: amd64\n\n\
                      Package: libc6\nArchitecture: amd64\nMulti-Arch: same\n\n\
                      Package: perl\nArchitecture: amd64\n";
        let packages: BTreeSet<String> = ["libc6:amd64".into(), "perl".into()].into();
        let trimmed = trim_status(status, PackageDbFormat::Dpkg, &packages);
        assert_eq!(
            trimmed,
            "Package: libc6\nArchitecture: amd64\nMulti-Arch: same\n\nPackage: perl\nArchitecture: amd64\n\n"
        );
    }

    #[test]
    fn keeps_selected_apk_stanzas() {
        let installed =
            "C:Q1abc\nP:musl\nV:1.2.4\nF:lib\nR:ld-musl-x86_64.so.1\n\nP:busybox\nV:1.36\n\n";
        let trimmed = trim_status(
            installed,
            PackageDbFormat::Apk,
            &["musl".to_string()].into(),
        );
        assert_eq!(
            trimmed,
            "C:Q1abc\nP:musl\nV:1.2.4\nF:lib\nR:ld-musl-x86_64.so.1\n\n"
        );
    }
}
