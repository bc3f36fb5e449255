//! What the dynamic loader needs to know about an ELF file, read with goblin.
//!
//! Only the ELF header, the program headers, PT_INTERP, PT_DYNAMIC and the dynamic string
//! table are read (through [`FileTree::read_at`]): .dynamic often sits megabytes into a
//! library, and there is no reason to load a 100 MB libLLVM just to learn its DT_NEEDED.

use std::collections::HashMap;
use std::sync::Arc;

use goblin::container::{Container, Ctx, Endian};
use goblin::elf::dynamic::{DT_RPATH, DT_RUNPATH, Dynamic};
use goblin::elf::header::{EI_CLASS, EI_DATA, ELFCLASS32, ELFCLASS64, ELFDATA2LSB, ELFDATA2MSB};
use goblin::elf::program_header::{PT_DYNAMIC, PT_INTERP};
use goblin::elf::{Elf, ProgramHeader};
use goblin::strtab::Strtab;
use thiserror::Error;

use super::tree::FileTree;

/// ELF word size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ElfClass {
    Elf32,
    Elf64,
}

/// What makes two objects loadable into the same process: ld.so skips a library whose
/// class, machine or byte order differ from the object that needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ElfAbi {
    pub class: ElfClass,
    /// e_machine (EM_X86_64 = 62, EM_AARCH64 = 183, ...)
    pub machine: u16,
    pub little_endian: bool,
}

/// Dynamic-loading facts of one ELF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfInfo {
    pub abi: ElfAbi,
    /// PT_INTERP, e.g. "/lib64/ld-linux-x86-64.so.2"
    pub interpreter: Option<String>,
    /// DT_NEEDED entries in order
    pub needed: Vec<String>,
    /// DT_RPATH entries, split at ':'
    pub rpath: Vec<String>,
    /// DT_RUNPATH entries, split at ':'
    pub runpath: Vec<String>,
    pub soname: Option<String>,
}

impl ElfInfo {
    /// True if loading the file involves the dynamic loader.
    pub fn is_dynamic(&self) -> bool {
        self.interpreter.is_some() || !self.needed.is_empty()
    }
}

#[derive(Debug, Error)]
pub enum ElfError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: malformed ELF: {reason}")]
    Malformed { path: String, reason: String },
}

const ELF_MAGIC: &[u8; 4] = b"\x7fELF";
/// Size of the larger (64-bit) ELF header; enough to parse either class.
const EHDR_MAX: usize = 64;

/// True if `head` starts like an ELF file.
pub fn has_elf_magic(head: &[u8]) -> bool {
    head.starts_with(ELF_MAGIC)
}

/// Read the dynamic-loading facts of `path` (a regular file). `Ok(None)` if it is not ELF.
pub fn read_elf_info(tree: &dyn FileTree, path: &str) -> Result<Option<ElfInfo>, ElfError> {
    let io_err = |source| ElfError::Io {
        path: path.to_string(),
        source,
    };
    let malformed = |reason: String| ElfError::Malformed {
        path: path.to_string(),
        reason,
    };

    let head = tree.read_prefix(path, EHDR_MAX).map_err(io_err)?;
    if !has_elf_magic(&head) {
        return Ok(None);
    }
    let (container, endian) = match (head.get(EI_CLASS), head.get(EI_DATA)) {
        (Some(&ELFCLASS64), Some(&data)) => (Container::Big, data),
        (Some(&ELFCLASS32), Some(&data)) => (Container::Little, data),
        _ => return Err(malformed("unknown ELF class".into())),
    };
    let endian = match endian {
        ELFDATA2LSB => Endian::Little,
        ELFDATA2MSB => Endian::Big,
        other => return Err(malformed(format!("unknown byte order {other}"))),
    };
    let ctx = Ctx::new(container, endian);
    let header = Elf::parse_header(&head).map_err(|e| malformed(e.to_string()))?;
    let abi = ElfAbi {
        class: if container.is_big() {
            ElfClass::Elf64
        } else {
            ElfClass::Elf32
        },
        machine: header.e_machine,
        little_endian: endian.is_little(),
    };

    // Bound every read by the file size, so a corrupt header cannot ask for gigabytes.
    let file_size = tree.entry(path).map(|e| e.size).unwrap_or(0);
    let read_exact = |offset: u64, len: u64, what: &str| -> Result<Vec<u8>, ElfError> {
        let end = offset.checked_add(len).filter(|end| *end <= file_size);
        if end.is_none() {
            return Err(malformed(format!("{what} lies beyond the end of the file")));
        }
        let buf = tree.read_at(path, offset, len as usize).map_err(io_err)?;
        if (buf.len() as u64) < len {
            return Err(malformed(format!("{what} is truncated")));
        }
        Ok(buf)
    };

    let phnum = usize::from(header.e_phnum);
    let phdr_size = ProgramHeader::size(ctx);
    if phnum > 0 && usize::from(header.e_phentsize) != phdr_size {
        return Err(malformed(format!(
            "program header size {}",
            header.e_phentsize
        )));
    }
    let phdr_bytes = read_exact(
        header.e_phoff,
        (phnum * phdr_size) as u64,
        "program headers",
    )?;
    let phdrs =
        ProgramHeader::parse(&phdr_bytes, 0, phnum, ctx).map_err(|e| malformed(e.to_string()))?;

    let mut info = ElfInfo {
        abi,
        interpreter: None,
        needed: Vec::new(),
        rpath: Vec::new(),
        runpath: Vec::new(),
        soname: None,
    };

    if let Some(ph) = phdrs.iter().find(|ph| ph.p_type == PT_INTERP) {
        let bytes = read_exact(ph.p_offset, ph.p_filesz, "PT_INTERP")?;
        let text = bytes.split(|b| *b == 0).next().unwrap_or_default();
        let interp =
            std::str::from_utf8(text).map_err(|_| malformed("PT_INTERP is not UTF-8".into()))?;
        if !interp.is_empty() {
            info.interpreter = Some(interp.to_string());
        }
    }

    let Some(dyn_index) = phdrs.iter().position(|ph| ph.p_type == PT_DYNAMIC) else {
        return Ok(Some(info)); // static
    };
    let dyn_ph = &phdrs[dyn_index];
    let dyn_bytes = read_exact(dyn_ph.p_offset, dyn_ph.p_filesz, "PT_DYNAMIC")?;
    // goblin locates the dynamic array through its program header; point that header at
    // the start of the window we read. PT_LOAD headers stay as they are, so DT_STRTAB is
    // still translated to the right file offset.
    let mut window_phdrs = phdrs.clone();
    window_phdrs[dyn_index].p_offset = 0;
    let Some(dynamic) =
        Dynamic::parse(&dyn_bytes, &window_phdrs, ctx).map_err(|e| malformed(e.to_string()))?
    else {
        return Ok(Some(info));
    };

    let wants_strings = dynamic.info.needed_count > 0
        || dynamic.info.soname != 0
        || dynamic
            .dyns
            .iter()
            .any(|d| d.d_tag == DT_RPATH || d.d_tag == DT_RUNPATH);
    if !wants_strings {
        return Ok(Some(info));
    }
    if dynamic.info.strtab == 0 || dynamic.info.strsz == 0 {
        return Err(malformed("DT_STRTAB missing or outside any PT_LOAD".into()));
    }
    let str_bytes = read_exact(
        dynamic.info.strtab as u64,
        dynamic.info.strsz as u64,
        "dynamic string table",
    )?;
    let strtab = Strtab::parse(&str_bytes, 0, str_bytes.len(), 0).ok();
    // A string table with one non-UTF-8 symbol name fails to parse as a whole; the few
    // strings we need are then taken one by one.
    let string_at = |offset: usize| -> Option<String> {
        if let Some(table) = &strtab {
            return table.get_at(offset).map(str::to_string);
        }
        let tail = str_bytes.get(offset..)?;
        let text = tail.split(|b| *b == 0).next()?;
        std::str::from_utf8(text).ok().map(str::to_string)
    };

    for d in &dynamic.dyns {
        let value = d.d_val as usize;
        match d.d_tag {
            goblin::elf::dynamic::DT_NEEDED => match string_at(value) {
                Some(name) => info.needed.push(name),
                None => return Err(malformed(format!("bad DT_NEEDED offset {value}"))),
            },
            DT_RPATH => info.rpath.extend(split_search_path(string_at(value))),
            DT_RUNPATH => info.runpath.extend(split_search_path(string_at(value))),
            goblin::elf::dynamic::DT_SONAME => info.soname = string_at(value),
            _ => {}
        }
    }
    Ok(Some(info))
}

/// Split a DT_RPATH/DT_RUNPATH value into its ':'-separated entries. Empty entries (which
/// mean "current directory" to ld.so, unknowable here) are dropped.
fn split_search_path(value: Option<String>) -> Vec<String> {
    value
        .map(|v| {
            v.split(':')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Parsed ELF facts per real path, so a library needed by fifty objects is read once.
#[derive(Debug, Default)]
pub struct ElfCache {
    parsed: HashMap<String, Option<Arc<ElfInfo>>>,
}

impl ElfCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Facts about `real_path`; `Ok(None)` if it is not ELF. A file that fails to parse
    /// reports its error once and is treated as non-ELF afterwards.
    pub fn get(
        &mut self,
        tree: &dyn FileTree,
        real_path: &str,
    ) -> Result<Option<Arc<ElfInfo>>, ElfError> {
        if let Some(cached) = self.parsed.get(real_path) {
            return Ok(cached.clone());
        }
        let result = read_elf_info(tree, real_path).map(|info| info.map(Arc::new));
        let cached = result.as_ref().ok().cloned().flatten();
        self.parsed.insert(real_path.to_string(), cached);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve::elf_fixture::ElfSpec;
    use crate::resolve::memtree::MemTree;
    use goblin::elf::header::{EM_386, EM_X86_64};

    #[test]
    fn fixture_is_valid_for_goblin_itself() {
        let bytes = ElfSpec::exe64("/lib64/ld-linux-x86-64.so.2")
            .needed("libfoo.so.1")
            .needed("libc.so.6")
            .rpath("/opt/a:/opt/b")
            .runpath("$ORIGIN/../lib")
            .build();
        let elf = Elf::parse(&bytes).unwrap();
        assert!(elf.is_64);
        assert_eq!(elf.header.e_machine, EM_X86_64);
        assert_eq!(elf.interpreter, Some("/lib64/ld-linux-x86-64.so.2"));
        assert_eq!(elf.libraries, vec!["libfoo.so.1", "libc.so.6"]);
        assert_eq!(elf.rpaths, vec!["/opt/a:/opt/b"]);
        assert_eq!(elf.runpaths, vec!["$ORIGIN/../lib"]);

        let lib32 = ElfSpec::lib32()
            .soname("libbar.so.2")
            .needed("libc.so.6")
            .build();
        let elf = Elf::parse(&lib32).unwrap();
        assert!(!elf.is_64);
        assert_eq!(elf.header.e_machine, EM_386);
        assert_eq!(elf.soname, Some("libbar.so.2"));
        assert_eq!(elf.libraries, vec!["libc.so.6"]);
    }

    #[test]
    fn reads_dynamic_facts() {
        let bytes = ElfSpec::exe64("/lib64/ld-linux-x86-64.so.2")
            .needed("libfoo.so.1")
            .needed("libc.so.6")
            .rpath("/opt/a:/opt/b")
            .runpath("$ORIGIN/../lib")
            .build();
        let tree = MemTree::new().file("/bin/app", 0o755, bytes);
        let info = read_elf_info(&tree, "/bin/app").unwrap().unwrap();
        assert_eq!(
            info.abi,
            ElfAbi {
                class: ElfClass::Elf64,
                machine: EM_X86_64,
                little_endian: true
            }
        );
        assert_eq!(
            info.interpreter.as_deref(),
            Some("/lib64/ld-linux-x86-64.so.2")
        );
        assert_eq!(info.needed, vec!["libfoo.so.1", "libc.so.6"]);
        assert_eq!(info.rpath, vec!["/opt/a", "/opt/b"]);
        assert_eq!(info.runpath, vec!["$ORIGIN/../lib"]);
        assert!(info.is_dynamic());

        let lib32 = ElfSpec::lib32().soname("libbar.so.2").build();
        let tree = MemTree::new().file("/lib/libbar.so.2", 0o644, lib32);
        let info = read_elf_info(&tree, "/lib/libbar.so.2").unwrap().unwrap();
        assert_eq!(info.abi.class, ElfClass::Elf32);
        assert_eq!(info.abi.machine, EM_386);
        assert_eq!(info.soname.as_deref(), Some("libbar.so.2"));
        assert!(!info.is_dynamic());
    }

    #[test]
    fn static_and_non_elf_files() {
        let tree = MemTree::new()
            .file("/bin/static", 0o755, ElfSpec::static64().build())
            .file("/bin/script", 0o755, b"#!/bin/sh\necho hi\n".to_vec())
            .file("/empty", 0o644, Vec::new());
        let info = read_elf_info(&tree, "/bin/static").unwrap().unwrap();
        assert!(!info.is_dynamic());
        assert!(info.needed.is_empty());
        assert!(read_elf_info(&tree, "/bin/script").unwrap().is_none());
        assert!(read_elf_info(&tree, "/empty").unwrap().is_none());
    }

    #[test]
    fn truncated_file_is_malformed_not_a_panic() {
        let mut bytes = ElfSpec::exe64("/lib/ld.so").needed("libc.so.6").build();
        bytes.truncate(100);
        let tree = MemTree::new().file("/bad", 0o755, bytes);
        assert!(matches!(
            read_elf_info(&tree, "/bad"),
            Err(ElfError::Malformed { .. })
        ));
        let tree = MemTree::new().file("/tiny", 0o755, b"\x7fELF\x02".to_vec());
        assert!(read_elf_info(&tree, "/tiny").is_err());
    }

    #[test]
    fn cache_parses_once_and_remembers_failures() {
        let tree = MemTree::new()
            .file("/lib/a.so", 0o644, ElfSpec::lib64().build())
            .file("/bad", 0o644, b"\x7fELF".to_vec());
        let mut cache = ElfCache::new();
        let first = cache.get(&tree, "/lib/a.so").unwrap().unwrap();
        let second = cache.get(&tree, "/lib/a.so").unwrap().unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        assert!(cache.get(&tree, "/bad").is_err());
        assert!(cache.get(&tree, "/bad").unwrap().is_none());
    }
}
