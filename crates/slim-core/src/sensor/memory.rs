//! Reading syscall arguments (strings, pointers) out of a stopped tracee's memory.
//!
//! `/proc/TID/mem` reads a page in one syscall. Opening it needs ptrace access rights,
//! which a tracee that switched to another uid denies a sensor without CAP_SYS_PTRACE;
//! PTRACE_PEEKDATA has no such check on an attached tracee, so it is the fallback.

use std::fs::File;
use std::os::unix::fs::FileExt;

use nix::errno::Errno;
use nix::unistd::Pid;

/// Strings read from a tracee are capped at this many bytes, NUL included.
pub const PATH_MAX: usize = libc::PATH_MAX as usize;

/// Reads never cross this boundary in one go, so an unmapped page after a string does not
/// spoil the read of the string itself. 4 KiB also divides every larger page size.
const PAGE: u64 = 4096;
const WORD: u64 = std::mem::size_of::<libc::c_long>() as u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MemoryError {
    #[error("NULL pointer")]
    Null,
    #[error("string longer than {0} bytes")]
    TooLong(usize),
    #[error("cannot read tracee memory: {0}")]
    Unreadable(Errno),
}

/// Open the memory file of a process, for reuse across its syscalls.
pub fn open_mem_file(tid: Pid) -> std::io::Result<File> {
    File::open(format!("/proc/{tid}/mem"))
}

/// The memory of one stopped tracee.
#[derive(Debug, Clone, Copy)]
pub struct TraceeMemory<'a> {
    tid: Pid,
    /// `/proc/TID/mem` of the tracee's process, if it could be opened
    mem_file: Option<&'a File>,
}

impl<'a> TraceeMemory<'a> {
    pub fn new(tid: Pid, mem_file: Option<&'a File>) -> Self {
        TraceeMemory { tid, mem_file }
    }

    /// Read a NUL-terminated string of at most `max_len` bytes (NUL included).
    pub fn read_c_string(&self, addr: u64, max_len: usize) -> Result<Vec<u8>, MemoryError> {
        if addr == 0 {
            return Err(MemoryError::Null);
        }
        if let Some(file) = self.mem_file
            && let Some(text) = read_c_string_from_file(file, addr, max_len)
        {
            return text;
        }
        self.peek_c_string(addr, max_len)
    }

    /// Read one native-endian 64-bit value (a pointer or an integer field).
    pub fn read_u64(&self, addr: u64) -> Result<u64, MemoryError> {
        if addr == 0 {
            return Err(MemoryError::Null);
        }
        let mut buf = [0u8; 8];
        self.read_exact(addr, &mut buf)?;
        Ok(u64::from_ne_bytes(buf))
    }

    /// Read `count` native-endian 32-bit values (a gid list), a page at most per read.
    pub fn read_u32_array(&self, addr: u64, count: usize) -> Result<Vec<u32>, MemoryError> {
        if addr == 0 {
            return Err(MemoryError::Null);
        }
        let mut bytes = vec![0u8; count * 4];
        let mut filled = 0usize;
        while filled < bytes.len() {
            let at = addr.wrapping_add(filled as u64);
            let len = ((PAGE - at % PAGE) as usize).min(bytes.len() - filled);
            self.read_exact(at, &mut bytes[filled..filled + len])?;
            filled += len;
        }
        Ok(bytes
            .chunks_exact(4)
            .map(|c| u32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// Read a NULL-terminated array of string pointers (argv), at most `max_items`
    /// strings and `max_bytes` bytes in all; the rest is dropped. Bytes that are not
    /// UTF-8 are replaced: argv is recorded for people to read.
    pub fn read_string_array(
        &self,
        addr: u64,
        max_items: usize,
        max_bytes: usize,
    ) -> Result<Vec<String>, MemoryError> {
        let mut items = Vec::new();
        if addr == 0 {
            return Ok(items);
        }
        let mut budget = max_bytes;
        for index in 0..max_items as u64 {
            let pointer = self.read_u64(addr.wrapping_add(index * 8))?;
            if pointer == 0 || budget == 0 {
                break;
            }
            let limit = budget.min(PATH_MAX);
            let text = match self.read_c_string(pointer, limit) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(MemoryError::TooLong(_)) => {
                    // keep a recognizable prefix of an overlong argument
                    let prefix = self.peek_prefix(pointer, limit.min(64));
                    format!("{}...", String::from_utf8_lossy(&prefix))
                }
                Err(other) => return Err(other),
            };
            budget = budget.saturating_sub(text.len() + 1);
            items.push(text);
        }
        Ok(items)
    }

    /// The first `len` bytes at `addr`, or nothing if they cannot be read.
    fn peek_prefix(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0u8; len];
        let within_page = (PAGE - addr % PAGE) as usize;
        let len = len.min(within_page);
        match self.read_exact(addr, &mut buf[..len]) {
            Ok(()) => {
                buf.truncate(len);
                buf
            }
            Err(_) => Vec::new(),
        }
    }

    /// Fill `buf` from `addr`; the caller keeps `buf` within one page.
    fn read_exact(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryError> {
        if let Some(file) = self.mem_file
            && file.read_exact_at(buf, addr).is_ok()
        {
            return Ok(());
        }
        self.peek_exact(addr, buf)
    }

    /// A string word by word through PTRACE_PEEKDATA, stopping at the word with the NUL.
    fn peek_c_string(&self, addr: u64, max_len: usize) -> Result<Vec<u8>, MemoryError> {
        let mut text = Vec::new();
        let mut at = addr;
        while text.len() < max_len {
            let word = self.peek_word(at)?;
            let skip = (at % WORD) as usize;
            let bytes = &word[skip..];
            let room = max_len - text.len();
            if let Some(nul) = bytes.iter().position(|&b| b == 0)
                && nul < room
            {
                text.extend_from_slice(&bytes[..nul]);
                return Ok(text);
            }
            text.extend_from_slice(&bytes[..bytes.len().min(room)]);
            at = at.wrapping_add(bytes.len() as u64);
        }
        Err(MemoryError::TooLong(max_len))
    }

    /// Fill `buf` from `addr` word by word through PTRACE_PEEKDATA.
    fn peek_exact(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemoryError> {
        let mut filled = 0usize;
        while filled < buf.len() {
            let at = addr.wrapping_add(filled as u64);
            let word = self.peek_word(at)?;
            let bytes = &word[(at % WORD) as usize..];
            let take = bytes.len().min(buf.len() - filled);
            buf[filled..filled + take].copy_from_slice(&bytes[..take]);
            filled += take;
        }
        Ok(())
    }

    /// The aligned word containing `at`; aligned reads never straddle a page.
    fn peek_word(&self, at: u64) -> Result<[u8; WORD as usize], MemoryError> {
        let aligned = at - at % WORD;
        let word = nix::sys::ptrace::read(self.tid, aligned as nix::sys::ptrace::AddressType)
            .map_err(MemoryError::Unreadable)?;
        Ok(word.to_ne_bytes())
    }
}

/// A string through `/proc/TID/mem`, page by page. `None` when the file cannot be read
/// there, so the caller falls back to PTRACE_PEEKDATA.
fn read_c_string_from_file(
    file: &File,
    addr: u64,
    max_len: usize,
) -> Option<Result<Vec<u8>, MemoryError>> {
    let mut text = Vec::new();
    let mut at = addr;
    let mut chunk = [0u8; PAGE as usize];
    while text.len() < max_len {
        let to_page_end = (PAGE - at % PAGE) as usize;
        let len = to_page_end.min(max_len - text.len());
        let buf = &mut chunk[..len];
        file.read_exact_at(buf, at).ok()?;
        if let Some(nul) = buf.iter().position(|&b| b == 0) {
            text.extend_from_slice(&buf[..nul]);
            return Some(Ok(text));
        }
        text.extend_from_slice(buf);
        at = at.wrapping_add(len as u64);
    }
    Some(Err(MemoryError::TooLong(max_len)))
}
#[cfg(test)]
mod tests {
    use super::*;

    // The tests read this very process's memory through /proc/self/mem; PEEKDATA
    // needs a tracee and is exercised by the integration tests.
    fn own_memory() -> (Pid, File) {
        let pid = nix::unistd::getpid();
        let file = open_mem_file(pid).expect("open own /proc mem");
        (pid, file)
    }

    #[test]
    fn reads_a_string_across_a_page_boundary() {
        let (pid, file) = own_memory();
        let memory = TraceeMemory::new(pid, Some(&file));
        // a buffer long enough that the string must span a page boundary somewhere
        let mut buf = vec![b'a'; 3 * PAGE as usize];
        let start = PAGE as usize - (buf.as_ptr() as usize % PAGE as usize) - 5;
        buf[start + 20] = 0;
        let addr = buf[start..].as_ptr() as u64;
        let text = memory.read_c_string(addr, PATH_MAX).expect("readable");
        assert_eq!(text, vec![b'a'; 20]);
    }

    #[test]
    fn caps_string_length() {
        let (pid, file) = own_memory();
        let memory = TraceeMemory::new(pid, Some(&file));
        let buf = vec![b'x'; 2 * PATH_MAX];
        let result = memory.read_c_string(buf.as_ptr() as u64, PATH_MAX);
        assert_eq!(result, Err(MemoryError::TooLong(PATH_MAX)));
    }

    #[test]
    fn reads_a_u32_array_across_a_page_boundary() {
        let (pid, file) = own_memory();
        let memory = TraceeMemory::new(pid, Some(&file));
        let values: Vec<u32> = (0..3 * PAGE as u32 / 4).collect();
        // start 6 values before a page boundary, so the read spans it
        let to_boundary = ((PAGE - values.as_ptr() as u64 % PAGE) / 4) as usize;
        let boundary = if to_boundary < 6 {
            to_boundary + PAGE as usize / 4
        } else {
            to_boundary
        };
        let skip = boundary - 6;
        let addr = values[skip..].as_ptr() as u64;
        let read = memory.read_u32_array(addr, 64).expect("readable");
        assert_eq!(read, values[skip..skip + 64]);
        assert_eq!(memory.read_u32_array(addr, 0), Ok(Vec::new()));
        assert_eq!(memory.read_u32_array(0, 1), Err(MemoryError::Null));
    }

    #[test]
    fn null_is_not_read() {
        let memory = TraceeMemory::new(nix::unistd::getpid(), None);
        assert_eq!(memory.read_c_string(0, PATH_MAX), Err(MemoryError::Null));
    }

    #[test]
    fn reads_an_argv_array() {
        let (pid, file) = own_memory();
        let memory = TraceeMemory::new(pid, Some(&file));
        let one = c"one";
        let two = c"two words";
        let array: [u64; 3] = [one.as_ptr() as u64, two.as_ptr() as u64, 0];
        let argv = memory
            .read_string_array(array.as_ptr() as u64, 16, 1024)
            .expect("readable");
        assert_eq!(argv, vec!["one".to_string(), "two words".to_string()]);
        let argv = memory
            .read_string_array(array.as_ptr() as u64, 1, 1024)
            .expect("readable");
        assert_eq!(argv, vec!["one".to_string()]);
        // "one" and its NUL use the whole budget
        let argv = memory
            .read_string_array(array.as_ptr() as u64, 16, 4)
            .expect("readable");
        assert_eq!(argv, vec!["one".to_string()]);
    }

    /// PEEKDATA needs a tracee: fork a child that stops under ptrace; it shares our
    /// address layout, so our pointers are valid in it.
    #[test]
    fn peekdata_reads_strings_at_any_alignment() {
        let mut buf = [b'p'; 64];
        buf[37] = 0;
        let value = 0x1122_3344_5566_7788u64;
        let gids: [u32; 5] = [0, 33, 65534, u32::MAX, 7];
        // SAFETY: the child only makes raw syscalls and exits.
        let child = match unsafe { nix::unistd::fork() }.expect("fork") {
            nix::unistd::ForkResult::Child => unsafe {
                libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0);
                libc::raise(libc::SIGSTOP);
                libc::_exit(0)
            },
            nix::unistd::ForkResult::Parent { child } => child,
        };
        nix::sys::wait::waitpid(child, None).expect("child stops");
        let memory = TraceeMemory::new(child, None);
        for offset in 0..9 {
            let addr = buf[offset..].as_ptr() as u64;
            let text = memory.read_c_string(addr, PATH_MAX).expect("peek");
            assert_eq!(text.len(), 37 - offset);
        }
        let short = memory.read_c_string(buf.as_ptr() as u64, 10);
        assert_eq!(short, Err(MemoryError::TooLong(10)));
        assert_eq!(memory.read_u64(&value as *const u64 as u64), Ok(value));
        let at = gids[1..].as_ptr() as u64;
        assert_eq!(memory.read_u32_array(at, 4), Ok(gids[1..].to_vec()));
        let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(child, None);
    }
}
