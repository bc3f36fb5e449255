//! A tiny ELF writer for tests: just enough structure (ELF header, one PT_LOAD covering
//! the file, PT_INTERP, PT_DYNAMIC and a dynamic string table) for goblin and for the
//! resolver to see interpreter, DT_NEEDED, DT_RPATH, DT_RUNPATH and DT_SONAME.

const EM_386: u16 = 3;
const EM_X86_64: u16 = 62;
const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_STRSZ: u64 = 10;
const DT_SONAME: u64 = 14;
const DT_RPATH: u64 = 15;
const DT_RUNPATH: u64 = 29;
/// Virtual address of file offset 0, so DT_STRTAB really has to be translated.
const BASE: u64 = 0x40_0000;

#[derive(Debug, Clone)]
pub struct ElfSpec {
    is_64: bool,
    machine: u16,
    is_exec: bool,
    dynamic: bool,
    interp: Option<String>,
    needed: Vec<String>,
    rpath: Option<String>,
    runpath: Option<String>,
    soname: Option<String>,
}

impl ElfSpec {
    fn base(is_64: bool, machine: u16) -> Self {
        ElfSpec {
            is_64,
            machine,
            is_exec: false,
            dynamic: true,
            interp: None,
            needed: Vec::new(),
            rpath: None,
            runpath: None,
            soname: None,
        }
    }

    /// Dynamically linked x86_64 executable with the given PT_INTERP.
    pub fn exe64(interp: &str) -> Self {
        ElfSpec {
            is_exec: true,
            interp: Some(interp.to_string()),
            ..Self::base(true, EM_X86_64)
        }
    }

    /// x86_64 shared library.
    pub fn lib64() -> Self {
        Self::base(true, EM_X86_64)
    }

    /// i386 shared library (a different class and machine).
    pub fn lib32() -> Self {
        Self::base(false, EM_386)
    }

    /// Statically linked x86_64 executable (no PT_INTERP, no PT_DYNAMIC).
    pub fn static64() -> Self {
        ElfSpec {
            is_exec: true,
            dynamic: false,
            ..Self::base(true, EM_X86_64)
        }
    }

    pub fn needed(mut self, name: &str) -> Self {
        self.needed.push(name.to_string());
        self
    }

    pub fn rpath(mut self, value: &str) -> Self {
        self.rpath = Some(value.to_string());
        self
    }

    pub fn runpath(mut self, value: &str) -> Self {
        self.runpath = Some(value.to_string());
        self
    }

    pub fn soname(mut self, name: &str) -> Self {
        self.soname = Some(name.to_string());
        self
    }

    pub fn build(&self) -> Vec<u8> {
        let (ehdr_size, phdr_size, word) = if self.is_64 { (64, 56, 8) } else { (52, 32, 4) };
        let phnum = 1 + usize::from(self.interp.is_some()) + usize::from(self.dynamic);

        // Lay out: header, program headers, interpreter, string table, dynamic array.
        let interp_off = ehdr_size + phnum * phdr_size;
        let interp_bytes: Vec<u8> = match &self.interp {
            Some(i) => [i.as_bytes(), b"\0"].concat(),
            None => Vec::new(),
        };
        let strtab_off = interp_off + interp_bytes.len();
        let mut strtab = vec![0u8];
        let mut add_str = |s: &str| -> u64 {
            let offset = strtab.len() as u64;
            strtab.extend_from_slice(s.as_bytes());
            strtab.push(0);
            offset
        };
        let mut dyns: Vec<(u64, u64)> = Vec::new();
        for name in &self.needed {
            dyns.push((DT_NEEDED, add_str(name)));
        }
        if let Some(s) = &self.soname {
            dyns.push((DT_SONAME, add_str(s)));
        }
        if let Some(s) = &self.rpath {
            dyns.push((DT_RPATH, add_str(s)));
        }
        if let Some(s) = &self.runpath {
            dyns.push((DT_RUNPATH, add_str(s)));
        }
        dyns.push((DT_STRTAB, BASE + strtab_off as u64));
        dyns.push((DT_STRSZ, strtab.len() as u64));
        dyns.push((DT_NULL, 0));
        let dyn_off = (strtab_off + strtab.len()).next_multiple_of(word);
        let dyn_size = if self.dynamic {
            dyns.len() * 2 * word
        } else {
            0
        };
        let total = dyn_off + dyn_size;

        let mut out = Vec::with_capacity(total);
        let w = Writer { is_64: self.is_64 };
        // e_ident
        out.extend_from_slice(b"\x7fELF");
        out.push(if self.is_64 { 2 } else { 1 }); // class
        out.push(1); // little endian
        out.push(1); // version
        out.resize(16, 0);
        w.u16(&mut out, if self.is_exec { 2 } else { 3 }); // e_type
        w.u16(&mut out, self.machine);
        w.u32(&mut out, 1); // e_version
        w.word(&mut out, 0); // e_entry
        w.word(&mut out, ehdr_size as u64); // e_phoff
        w.word(&mut out, 0); // e_shoff
        w.u32(&mut out, 0); // e_flags
        w.u16(&mut out, ehdr_size as u16);
        w.u16(&mut out, phdr_size as u16);
        w.u16(&mut out, phnum as u16);
        w.u16(&mut out, if self.is_64 { 64 } else { 40 }); // e_shentsize
        w.u16(&mut out, 0); // e_shnum
        w.u16(&mut out, 0); // e_shstrndx
        assert_eq!(out.len(), ehdr_size);

        w.phdr(&mut out, PT_LOAD, 0, total as u64, 0x1000);
        if self.interp.is_some() {
            w.phdr(
                &mut out,
                PT_INTERP,
                interp_off as u64,
                interp_bytes.len() as u64,
                1,
            );
        }
        if self.dynamic {
            w.phdr(
                &mut out,
                PT_DYNAMIC,
                dyn_off as u64,
                dyn_size as u64,
                word as u64,
            );
        }
        out.extend_from_slice(&interp_bytes);
        out.extend_from_slice(&strtab);
        out.resize(dyn_off, 0);
        if self.dynamic {
            for (tag, val) in dyns {
                w.word(&mut out, tag);
                w.word(&mut out, val);
            }
        }
        assert_eq!(out.len(), total);
        out
    }
}

struct Writer {
    is_64: bool,
}

impl Writer {
    fn u16(&self, out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&self, out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn word(&self, out: &mut Vec<u8>, v: u64) {
        if self.is_64 {
            out.extend_from_slice(&v.to_le_bytes());
        } else {
            out.extend_from_slice(&(v as u32).to_le_bytes());
        }
    }
    /// One program header; segments are mapped at BASE + file offset.
    fn phdr(&self, out: &mut Vec<u8>, p_type: u32, offset: u64, size: u64, align: u64) {
        let flags = 4; // PF_R
        self.u32(out, p_type);
        if self.is_64 {
            self.u32(out, flags);
        }
        self.word(out, offset);
        self.word(out, BASE + offset); // p_vaddr
        self.word(out, BASE + offset); // p_paddr
        self.word(out, size); // p_filesz
        self.word(out, size); // p_memsz
        if !self.is_64 {
            self.u32(out, flags);
        }
        self.word(out, align);
    }
}
