//! Where the dynamic loader looks for a DT_NEEDED library, in the order it looks.
//!
//! glibc (ld.so(8)): DT_RPATH of the object and of the objects that loaded it up to the
//! executable (only if the object has no DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH,
//! /etc/ld.so.cache (approximated by the directories of /etc/ld.so.conf), then the
//! default directories. musl: LD_LIBRARY_PATH, DT_RUNPATH or DT_RPATH of the object and
//! its loaders, then /etc/ld-musl-ARCH.path or /lib:/usr/local/lib:/usr/lib.

use goblin::elf::header::{
    EM_386, EM_AARCH64, EM_ARM, EM_LOONGARCH, EM_MIPS, EM_PPC, EM_PPC64, EM_RISCV, EM_S390,
    EM_X86_64,
};

use super::elf::{ElfAbi, ElfClass, ElfInfo};
use super::walk::{normalize_lexical, parent};

/// musl's search path when /etc/ld-musl-ARCH.path does not exist.
pub const MUSL_DEFAULT_DIRS: &[&str] = &["/lib", "/usr/local/lib", "/usr/lib"];

/// Which dynamic loader will load an object (inherited from the executable).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LoaderFlavor {
    Glibc,
    /// musl, with the ARCH part of its loader name (`ld-musl-x86_64.so.1` -> "x86_64")
    Musl {
        arch: String,
    },
    /// a library reached without a known executable: search both ways
    Unknown,
}

impl LoaderFlavor {
    /// Tell the loader from a PT_INTERP value.
    pub fn from_interpreter(interp: &str) -> Self {
        let name = interp.rsplit('/').next().unwrap_or(interp);
        match name
            .strip_prefix("ld-musl-")
            .and_then(|n| n.strip_suffix(".so.1"))
        {
            Some(arch) => LoaderFlavor::Musl {
                arch: arch.to_string(),
            },
            None => LoaderFlavor::Glibc,
        }
    }
}

/// Path of musl's search path file for `arch`.
pub fn musl_path_file(arch: &str) -> String {
    format!("/etc/ld-musl-{arch}.path")
}

/// Parse a musl path file: entries separated by ':' or newlines.
pub fn parse_musl_path(text: &str) -> Vec<String> {
    text.split([':', '\n'])
        .map(str::trim)
        .filter_map(normalize_lexical)
        .collect()
}

/// musl's libc is its loader: these names never need a separate file.
pub fn is_musl_builtin(soname: &str) -> bool {
    let stem = soname.split(".so").next().unwrap_or(soname);
    matches!(
        stem,
        "libc" | "libpthread" | "librt" | "libm" | "libdl" | "libutil" | "libxnet"
    ) || soname.starts_with("libc.musl-")
        || soname.starts_with("ld-musl-")
}

/// Debian multiarch tuples of an ABI (first one is the usual one).
pub fn multiarch_tuples(abi: ElfAbi) -> &'static [&'static str] {
    let is_64 = abi.class == ElfClass::Elf64;
    match (abi.machine, is_64, abi.little_endian) {
        (EM_X86_64, true, _) => &["x86_64-linux-gnu"],
        (EM_X86_64, false, _) => &["x86_64-linux-gnux32"],
        (EM_386, _, _) => &["i386-linux-gnu"],
        (EM_AARCH64, _, true) => &["aarch64-linux-gnu"],
        (EM_AARCH64, _, false) => &["aarch64_be-linux-gnu"],
        (EM_ARM, _, _) => &["arm-linux-gnueabihf", "arm-linux-gnueabi"],
        (EM_PPC64, _, true) => &["powerpc64le-linux-gnu"],
        (EM_PPC64, _, false) => &["powerpc64-linux-gnu"],
        (EM_PPC, _, _) => &["powerpc-linux-gnu"],
        (EM_S390, true, _) => &["s390x-linux-gnu"],
        (EM_S390, false, _) => &["s390-linux-gnu"],
        (EM_RISCV, true, _) => &["riscv64-linux-gnu"],
        (EM_MIPS, true, true) => &["mips64el-linux-gnuabi64"],
        (EM_MIPS, true, false) => &["mips64-linux-gnuabi64"],
        (EM_MIPS, false, true) => &["mipsel-linux-gnu"],
        (EM_MIPS, false, false) => &["mips-linux-gnu"],
        (EM_LOONGARCH, _, _) => &["loongarch64-linux-gnu"],
        _ => &[],
    }
}

/// Value of `$PLATFORM` for an ABI, if known.
pub fn platform(abi: ElfAbi) -> Option<&'static str> {
    let is_64 = abi.class == ElfClass::Elf64;
    Some(match (abi.machine, is_64, abi.little_endian) {
        (EM_X86_64, true, _) => "x86_64",
        (EM_386, _, _) => "i686",
        (EM_AARCH64, _, _) => "aarch64",
        (EM_PPC64, _, true) => "ppc64le",
        (EM_PPC64, _, false) => "ppc64",
        (EM_S390, true, _) => "s390x",
        (EM_RISCV, true, _) => "riscv64",
        _ => return None,
    })
}

/// The loader's built-in directories for an ABI (Debian-style multiarch first).
pub fn default_dirs(abi: ElfAbi) -> Vec<String> {
    let mut dirs = Vec::new();
    for tuple in multiarch_tuples(abi) {
        dirs.push(format!("/lib/{tuple}"));
        dirs.push(format!("/usr/lib/{tuple}"));
    }
    let suffix = if abi.class == ElfClass::Elf64 {
        "lib64"
    } else {
        "lib32"
    };
    dirs.push(format!("/{suffix}"));
    dirs.push(format!("/usr/{suffix}"));
    dirs.push("/lib".to_string());
    dirs.push("/usr/lib".to_string());
    dirs
}

/// Values `$LIB` may stand for.
fn lib_values(abi: ElfAbi) -> Vec<String> {
    let mut values = Vec::new();
    values.push(
        if abi.class == ElfClass::Elf64 {
            "lib64"
        } else {
            "lib"
        }
        .to_string(),
    );
    for tuple in multiarch_tuples(abi) {
        values.push(format!("lib/{tuple}"));
    }
    values
}

/// `$ORIGIN` candidates of an object: the directory it was found in, and the directory of
/// its real path (they differ when it was reached through a symlink).
pub fn origin_dirs(found: &str, real: &str) -> Vec<String> {
    let mut dirs = Vec::new();
    // A found path with `..` has no meaningful lexical directory.
    if !found.split('/').any(|c| c == "..")
        && let Some(dir) = parent(found)
    {
        dirs.push(dir.to_string());
    }
    if let Some(dir) = parent(real)
        && !dirs.iter().any(|d| d == dir)
    {
        dirs.push(dir.to_string());
    }
    dirs
}

/// Substitute `$ORIGIN`, `$LIB` and `$PLATFORM` (also `${...}`) in a search path entry.
/// One entry may give several directories (several origins, several `$LIB` values).
/// Relative results are dropped: they would be relative to an unknown working directory.
pub fn expand_tokens(entry: &str, origins: &[String], abi: ElfAbi) -> Vec<String> {
    let mut results = vec![String::new()];
    let mut rest = entry;
    while let Some(pos) = rest.find('$') {
        let literal = &rest[..pos];
        for r in &mut results {
            r.push_str(literal);
        }
        let after = &rest[pos + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after.find(|c: char| !c.is_ascii_alphanumeric() && c != '_');
            let end = end.unwrap_or(after.len());
            (&after[..end], end)
        };
        let values: Vec<String> = match name {
            "ORIGIN" => origins.to_vec(),
            "LIB" => lib_values(abi),
            "PLATFORM" => platform(abi).map(str::to_string).into_iter().collect(),
            // unknown tokens are kept literally, like ld.so does
            _ => vec![format!("${}", &after[..consumed])],
        };
        results = results
            .iter()
            .flat_map(|prefix| values.iter().map(move |v| format!("{prefix}{v}")))
            .collect();
        rest = &after[consumed..];
    }
    for r in &mut results {
        r.push_str(rest);
    }
    results
        .into_iter()
        .filter_map(|r| normalize_lexical(&r))
        .collect()
}

fn expand_all(entries: &[String], origins: &[String], abi: ElfAbi) -> Vec<String> {
    entries
        .iter()
        .flat_map(|e| expand_tokens(e, origins, abi))
        .collect()
}

/// Everything that decides where one object's DT_NEEDED libraries are searched.
#[derive(Debug, Clone)]
pub struct SearchInput<'a> {
    /// path the object was reached by
    pub found: &'a str,
    /// its real path
    pub real: &'a str,
    pub info: &'a ElfInfo,
    pub flavor: &'a LoaderFlavor,
    /// RPATH directories handed down by the objects that loaded this one
    pub inherited: &'a [String],
    pub ld_library_path: &'a [String],
    /// directories of /etc/ld.so.conf (glibc)
    pub ld_so_conf_dirs: &'a [String],
    /// musl's system path (its path file, or the defaults)
    pub musl_dirs: &'a [String],
}

/// Directories to try, in order, without duplicates.
pub fn search_dirs(input: &SearchInput) -> Vec<String> {
    let info = input.info;
    let origins = origin_dirs(input.found, input.real);
    let abi = info.abi;
    let mut dirs: Vec<String> = Vec::new();
    let glibc = |dirs: &mut Vec<String>| {
        if info.runpath.is_empty() {
            dirs.extend(expand_all(&info.rpath, &origins, abi));
            dirs.extend(input.inherited.iter().cloned());
        }
        dirs.extend(input.ld_library_path.iter().cloned());
        dirs.extend(expand_all(&info.runpath, &origins, abi));
        dirs.extend(input.ld_so_conf_dirs.iter().cloned());
        dirs.extend(default_dirs(abi));
    };
    match input.flavor {
        LoaderFlavor::Glibc => glibc(&mut dirs),
        LoaderFlavor::Musl { .. } => {
            dirs.extend(input.ld_library_path.iter().cloned());
            let own = if info.runpath.is_empty() {
                &info.rpath
            } else {
                &info.runpath
            };
            dirs.extend(expand_all(own, &origins, abi));
            dirs.extend(input.inherited.iter().cloned());
            dirs.extend(input.musl_dirs.iter().cloned());
        }
        LoaderFlavor::Unknown => {
            glibc(&mut dirs);
            dirs.extend(MUSL_DEFAULT_DIRS.iter().map(|d| d.to_string()));
        }
    }
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    dirs
}

/// The RPATH directories an object hands down to the libraries it loads: its own
/// (glibc: only DT_RPATH and only without DT_RUNPATH; musl: whichever it has) followed by
/// what it inherited itself.
pub fn inherited_for_children(
    found: &str,
    real: &str,
    info: &ElfInfo,
    flavor: &LoaderFlavor,
    inherited: &[String],
) -> Vec<String> {
    let origins = origin_dirs(found, real);
    let own: &[String] = match flavor {
        LoaderFlavor::Musl { .. } if !info.runpath.is_empty() => &info.runpath,
        _ if info.runpath.is_empty() => &info.rpath,
        _ => &[],
    };
    let mut dirs = expand_all(own, &origins, info.abi);
    dirs.extend(inherited.iter().cloned());
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| seen.insert(d.clone()));
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    const X86_64: ElfAbi = ElfAbi {
        class: ElfClass::Elf64,
        machine: EM_X86_64,
        little_endian: true,
    };

    fn info(rpath: &[&str], runpath: &[&str]) -> ElfInfo {
        ElfInfo {
            abi: X86_64,
            interpreter: None,
            needed: vec![],
            rpath: rpath.iter().map(|s| s.to_string()).collect(),
            runpath: runpath.iter().map(|s| s.to_string()).collect(),
            soname: None,
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flavor_from_interpreter() {
        assert_eq!(
            LoaderFlavor::from_interpreter("/lib/ld-musl-x86_64.so.1"),
            LoaderFlavor::Musl {
                arch: "x86_64".into()
            }
        );
        assert_eq!(
            LoaderFlavor::from_interpreter("/lib64/ld-linux-x86-64.so.2"),
            LoaderFlavor::Glibc
        );
        assert!(is_musl_builtin("libc.musl-x86_64.so.1"));
        assert!(is_musl_builtin("libpthread.so.0"));
        assert!(!is_musl_builtin("libcrypto.so.3"));
        assert_eq!(
            parse_musl_path("/lib:/usr/lib\n/opt/lib\n"),
            strings(&["/lib", "/usr/lib", "/opt/lib"])
        );
    }

    #[test]
    fn token_expansion() {
        let origins = strings(&["/usr/bin", "/opt/app/bin"]);
        assert_eq!(
            expand_tokens("$ORIGIN/../lib", &origins, X86_64),
            strings(&["/usr/bin/../lib", "/opt/app/bin/../lib"])
        );
        assert_eq!(
            expand_tokens("${ORIGIN}", &origins[..1], X86_64),
            strings(&["/usr/bin"])
        );
        assert_eq!(
            expand_tokens("/opt/$LIB/$PLATFORM", &[], X86_64),
            strings(&["/opt/lib64/x86_64", "/opt/lib/x86_64-linux-gnu/x86_64"])
        );
        assert_eq!(
            expand_tokens("/opt/$WEIRD/x", &[], X86_64),
            strings(&["/opt/$WEIRD/x"])
        );
        assert!(expand_tokens("relative/dir", &[], X86_64).is_empty());
    }

    #[test]
    fn default_dirs_for_x86_64() {
        assert_eq!(
            default_dirs(X86_64),
            strings(&[
                "/lib/x86_64-linux-gnu",
                "/usr/lib/x86_64-linux-gnu",
                "/lib64",
                "/usr/lib64",
                "/lib",
                "/usr/lib"
            ])
        );
    }

    fn dirs_for(info: &ElfInfo, flavor: &LoaderFlavor, inherited: &[String]) -> Vec<String> {
        let llp = strings(&["/llp"]);
        let conf = strings(&["/conf"]);
        let musl = strings(&["/musl"]);
        search_dirs(&SearchInput {
            found: "/app/bin/tool",
            real: "/app/bin/tool",
            info,
            flavor,
            inherited,
            ld_library_path: &llp,
            ld_so_conf_dirs: &conf,
            musl_dirs: &musl,
        })
    }

    #[test]
    fn glibc_order_rpath_then_llp_then_runpath() {
        let inherited = strings(&["/exe-rpath"]);
        let only_rpath = dirs_for(&info(&["/rp"], &[]), &LoaderFlavor::Glibc, &inherited);
        assert_eq!(
            &only_rpath[..4],
            &strings(&["/rp", "/exe-rpath", "/llp", "/conf"])[..]
        );
        // with DT_RUNPATH, DT_RPATH (own and inherited) is ignored
        let both = dirs_for(
            &info(&["/rp"], &["$ORIGIN/../lib"]),
            &LoaderFlavor::Glibc,
            &inherited,
        );
        assert_eq!(
            &both[..3],
            &strings(&["/llp", "/app/bin/../lib", "/conf"])[..]
        );
        assert!(!both.contains(&"/rp".to_string()));
        assert!(!both.contains(&"/exe-rpath".to_string()));
        assert_eq!(both.last().map(String::as_str), Some("/usr/lib"));
    }

    #[test]
    fn musl_order() {
        let musl = LoaderFlavor::Musl {
            arch: "x86_64".into(),
        };
        let dirs = dirs_for(&info(&["/rp"], &[]), &musl, &strings(&["/up"]));
        assert_eq!(dirs, strings(&["/llp", "/rp", "/up", "/musl"]));
    }

    #[test]
    fn inheritance() {
        let with_rpath = info(&["$ORIGIN/lib"], &[]);
        assert_eq!(
            inherited_for_children(
                "/a/x",
                "/a/x",
                &with_rpath,
                &LoaderFlavor::Glibc,
                &strings(&["/up"])
            ),
            strings(&["/a/lib", "/up"])
        );
        let with_runpath = info(&["/rp"], &["/run"]);
        assert_eq!(
            inherited_for_children(
                "/a/x",
                "/a/x",
                &with_runpath,
                &LoaderFlavor::Glibc,
                &strings(&["/up"])
            ),
            strings(&["/up"])
        );
    }
}
