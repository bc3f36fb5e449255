//! What the kernel loads on exec without a syscall the tracer sees: the `#!` interpreter
//! of a script and the PT_INTERP dynamic loader of an ELF file.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// The kernel reads this much of a script looking for the `#!` line (BINPRM_BUF_SIZE).
const SHEBANG_BUFFER: usize = 256;
const PT_INTERP: u32 = 3;
/// Bounds that no sane ELF file exceeds; they keep a hostile header from making us
/// read megabytes.
const MAX_PROGRAM_HEADERS: usize = 1024;
const MAX_PROGRAM_HEADER_SIZE: usize = 256;
const MAX_INTERP_LEN: u64 = 4096;

/// What kind of executable a file is, as far as exec loading goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecFormat {
    /// a `#!` script run by this interpreter
    Script { interpreter: String },
    /// an ELF file; `interpreter` is its PT_INTERP if it is dynamically linked
    Elf { interpreter: Option<String> },
    /// neither (the exec will fail or another binfmt handler takes it)
    Other,
}

/// Something we can read at offsets: a file, or bytes in the tests.
pub trait ReadAt {
    /// Read what is there at `offset`, up to `buf.len()` bytes; 0 means end of file.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;

    fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read_at(buf, offset) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl ReadAt for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        FileExt::read_at(self, buf, offset)
    }
}

impl ReadAt for [u8] {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.len());
        let available = &self[start..];
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        Ok(n)
    }
}

/// Classify an executable by its first bytes and, for ELF, its program headers.
pub fn probe<R: ReadAt + ?Sized>(file: &R) -> io::Result<ExecFormat> {
    let head = read_head(file)?;
    if let Some(interpreter) = parse_shebang(&head) {
        return Ok(ExecFormat::Script { interpreter });
    }
    if head.starts_with(b"\x7fELF") {
        return Ok(ExecFormat::Elf {
            interpreter: elf_interpreter(file)?,
        });
    }
    Ok(ExecFormat::Other)
}

/// The start of the file, up to SHEBANG_BUFFER bytes (shorter files are read whole).
fn read_head<R: ReadAt + ?Sized>(file: &R) -> io::Result<Vec<u8>> {
    let mut head = vec![0u8; SHEBANG_BUFFER];
    let mut filled = 0;
    while filled < head.len() {
        match file.read_at(&mut head[filled..], filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(filled);
    Ok(head)
}

/// The interpreter of a `#!` line, as the kernel parses it: after `#!` and blanks, up to
/// the next blank or end of line. Arguments after it are not files the kernel opens.
pub fn parse_shebang(head: &[u8]) -> Option<String> {
    let rest = head.strip_prefix(b"#!")?;
    let line = rest.split(|&b| b == b'\n').next().unwrap_or(rest);
    let is_blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = line.iter().position(|b| !is_blank(b))?;
    let name = &line[start..];
    let end = name
        .iter()
        .position(|b| is_blank(b) || *b == 0 || *b == b'\r')
        .unwrap_or(name.len());
    let name = &name[..end];
    if name.is_empty() {
        return None;
    }
    String::from_utf8(name.to_vec()).ok()
}

/// Byte order and word size of an ELF file, from its identification bytes.
#[derive(Debug, Clone, Copy)]
struct ElfLayout {
    wide: bool,
    big_endian: bool,
}

impl ElfLayout {
    fn u16(&self, b: &[u8], at: usize) -> Option<u64> {
        let bytes: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
        Some(u64::from(if self.big_endian {
            u16::from_be_bytes(bytes)
        } else {
            u16::from_le_bytes(bytes)
        }))
    }

    fn u32(&self, b: &[u8], at: usize) -> Option<u64> {
        let bytes: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(u64::from(if self.big_endian {
            u32::from_be_bytes(bytes)
        } else {
            u32::from_le_bytes(bytes)
        }))
    }

    fn u64(&self, b: &[u8], at: usize) -> Option<u64> {
        let bytes: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
        Some(if self.big_endian {
            u64::from_be_bytes(bytes)
        } else {
            u64::from_le_bytes(bytes)
        })
    }

    /// A file offset or size field: 8 bytes in ELF64, 4 in ELF32.
    fn word(&self, b: &[u8], at64: usize, at32: usize) -> Option<u64> {
        if self.wide {
            self.u64(b, at64)
        } else {
            self.u32(b, at32)
        }
    }
}

/// PT_INTERP of an ELF32 or ELF64 file of either byte order, `None` for a static binary
/// or a malformed header.
pub fn elf_interpreter<R: ReadAt + ?Sized>(file: &R) -> io::Result<Option<String>> {
    let mut header = [0u8; 64];
    match file.read_exact_at(&mut header[..52], 0) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    if !header.starts_with(b"\x7fELF") {
        return Ok(None);
    }
    let layout = match (header[4], header[5]) {
        (1, 1) => ElfLayout {
            wide: false,
            big_endian: false,
        },
        (1, 2) => ElfLayout {
            wide: false,
            big_endian: true,
        },
        (2, 1) => ElfLayout {
            wide: true,
            big_endian: false,
        },
        (2, 2) => ElfLayout {
            wide: true,
            big_endian: true,
        },
        _ => return Ok(None),
    };
    if layout.wide && file.read_exact_at(&mut header, 0).is_err() {
        return Ok(None);
    }
    let fields = (
        layout.word(&header, 32, 28),
        layout.u16(&header, if layout.wide { 54 } else { 42 }),
        layout.u16(&header, if layout.wide { 56 } else { 44 }),
    );
    let (Some(phoff), Some(phentsize), Some(phnum)) = fields else {
        return Ok(None);
    };
    let (phentsize, phnum) = (phentsize as usize, phnum as usize);
    let min_entry = if layout.wide { 56 } else { 32 };
    if phoff == 0
        || phentsize < min_entry
        || phentsize > MAX_PROGRAM_HEADER_SIZE
        || phnum == 0
        || phnum > MAX_PROGRAM_HEADERS
    {
        return Ok(None);
    }
    let mut table = vec![0u8; phentsize * phnum];
    if file.read_exact_at(&mut table, phoff).is_err() {
        return Ok(None);
    }
    for entry in table.chunks_exact(phentsize) {
        if layout.u32(entry, 0) != Some(u64::from(PT_INTERP)) {
            continue;
        }
        let (Some(offset), Some(size)) = (layout.word(entry, 8, 4), layout.word(entry, 32, 16))
        else {
            return Ok(None);
        };
        if size == 0 || size > MAX_INTERP_LEN {
            return Ok(None);
        }
        let mut interp = vec![0u8; size as usize];
        if file.read_exact_at(&mut interp, offset).is_err() {
            return Ok(None);
        }
        let end = interp.iter().position(|&b| b == 0).unwrap_or(interp.len());
        interp.truncate(end);
        return Ok(String::from_utf8(interp).ok().filter(|s| !s.is_empty()));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_lines() {
        let p = |s: &[u8]| parse_shebang(s);
        assert_eq!(p(b"#!/bin/sh\necho"), Some("/bin/sh".into()));
        assert_eq!(p(b"#! /usr/bin/env python3\n"), Some("/usr/bin/env".into()));
        assert_eq!(p(b"#!\t/bin/bash -e\n"), Some("/bin/bash".into()));
        assert_eq!(p(b"#!/bin/sh\r\n"), Some("/bin/sh".into()));
        assert_eq!(p(b"#!/bin/sh"), Some("/bin/sh".into()));
        assert_eq!(p(b"#!python3\n"), Some("python3".into()));
        assert_eq!(p(b"#!\n"), None);
        assert_eq!(p(b"#!   \n/bin/sh"), None);
        assert_eq!(p(b"echo hi\n"), None);
        assert_eq!(p(b""), None);
    }

    /// A minimal ELF image: header, program header table, optional PT_INTERP string.
    fn elf(wide: bool, big_endian: bool, interp: Option<&str>) -> Vec<u8> {
        let put16 = |v: &mut Vec<u8>, at: usize, x: u16| {
            let b = if big_endian {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            };
            v[at..at + 2].copy_from_slice(&b);
        };
        let put32 = |v: &mut Vec<u8>, at: usize, x: u32| {
            let b = if big_endian {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            };
            v[at..at + 4].copy_from_slice(&b);
        };
        let put64 = |v: &mut Vec<u8>, at: usize, x: u64| {
            let b = if big_endian {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            };
            v[at..at + 8].copy_from_slice(&b);
        };
        let (ehsize, phentsize) = if wide { (64usize, 56usize) } else { (52, 32) };
        // two program headers: a PT_LOAD, then PT_INTERP (or a second PT_LOAD)
        let phnum = 2;
        let strings_at = ehsize + phentsize * phnum;
        let mut v = vec![0u8; strings_at + 64];
        v[..4].copy_from_slice(b"\x7fELF");
        v[4] = if wide { 2 } else { 1 };
        v[5] = if big_endian { 2 } else { 1 };
        v[6] = 1;
        if wide {
            put64(&mut v, 32, ehsize as u64);
            put16(&mut v, 54, phentsize as u16);
            put16(&mut v, 56, phnum as u16);
        } else {
            put32(&mut v, 28, ehsize as u32);
            put16(&mut v, 42, phentsize as u16);
            put16(&mut v, 44, phnum as u16);
        }
        let first = ehsize;
        put32(&mut v, first, 1); // PT_LOAD
        let second = ehsize + phentsize;
        if let Some(interp) = interp {
            let bytes = interp.as_bytes();
            v[strings_at..strings_at + bytes.len()].copy_from_slice(bytes);
            let size = bytes.len() as u64 + 1;
            put32(&mut v, second, PT_INTERP);
            if wide {
                put64(&mut v, second + 8, strings_at as u64);
                put64(&mut v, second + 32, size);
            } else {
                put32(&mut v, second + 4, strings_at as u32);
                put32(&mut v, second + 16, size as u32);
            }
        } else {
            put32(&mut v, second, 1);
        }
        v
    }

    #[test]
    fn pt_interp_of_every_class_and_byte_order() {
        for wide in [true, false] {
            for big_endian in [false, true] {
                let image = elf(wide, big_endian, Some("/lib/ld-musl-x86_64.so.1"));
                assert_eq!(
                    elf_interpreter(image.as_slice()).expect("bytes read"),
                    Some("/lib/ld-musl-x86_64.so.1".to_string()),
                    "wide={wide} big_endian={big_endian}"
                );
                let image = elf(wide, big_endian, None);
                assert_eq!(elf_interpreter(image.as_slice()).expect("bytes read"), None);
            }
        }
    }

    #[test]
    fn probe_tells_scripts_from_elf() {
        let script = b"#!/bin/sh\nexit 0\n".as_slice();
        assert_eq!(
            probe(script).expect("probe"),
            ExecFormat::Script {
                interpreter: "/bin/sh".into()
            }
        );
        let image = elf(true, false, Some("/lib64/ld-linux-x86-64.so.2"));
        assert_eq!(
            probe(image.as_slice()).expect("probe"),
            ExecFormat::Elf {
                interpreter: Some("/lib64/ld-linux-x86-64.so.2".into())
            }
        );
        assert_eq!(
            probe(b"plain text".as_slice()).expect("probe"),
            ExecFormat::Other
        );
        assert_eq!(probe(b"".as_slice()).expect("probe"), ExecFormat::Other);
    }

    #[test]
    fn truncated_or_hostile_elf_is_not_an_error() {
        let image = elf(true, false, Some("/lib64/ld-linux-x86-64.so.2"));
        assert_eq!(elf_interpreter(&image[..40]).expect("bytes"), None);
        assert_eq!(elf_interpreter(&image[..100]).expect("bytes"), None);
        let mut many = image.clone();
        many[56] = 0xff;
        many[57] = 0xff;
        assert_eq!(elf_interpreter(many.as_slice()).expect("bytes"), None);
        let mut wide_entries = image.clone();
        wide_entries[54] = 0xff;
        wide_entries[55] = 0xff;
        assert_eq!(
            elf_interpreter(wide_entries.as_slice()).expect("bytes"),
            None
        );
    }

    #[test]
    fn real_binaries_on_this_host() {
        let Ok(file) = File::open("/bin/sh") else {
            return;
        };
        match probe(&file).expect("probe /bin/sh") {
            ExecFormat::Elf { interpreter } => {
                let interpreter = interpreter.expect("/bin/sh is dynamically linked here");
                assert!(interpreter.contains("ld-"), "{interpreter}");
            }
            other => panic!("/bin/sh is not ELF: {other:?}"),
        }
    }
}
