//! File trees shared by the resolver's tests: the start of a Debian 12 image (merged /usr,
//! the glibc loader and libc), which each test extends with what it is about.

use super::elf_fixture::ElfSpec;
use super::memtree::MemTree;

pub const LD: &str = "/lib64/ld-linux-x86-64.so.2";
pub const MULTIARCH: &str = "/usr/lib/x86_64-linux-gnu";

/// A path in the multiarch library directory.
pub fn lib(name: &str) -> String {
    format!("{MULTIARCH}/{name}")
}

/// Merged /usr (/lib, /lib64, /bin, /sbin are symlinks), the loader and libc.
pub fn glibc_usr_merged() -> MemTree {
    MemTree::new()
        .symlink("/lib", "usr/lib")
        .symlink("/lib64", "usr/lib64")
        .symlink("/bin", "usr/bin")
        .symlink("/sbin", "usr/sbin")
        .file(
            &lib("ld-linux-x86-64.so.2"),
            0o755,
            ElfSpec::lib64().soname("ld-linux-x86-64.so.2").build(),
        )
        .symlink(
            "/usr/lib64/ld-linux-x86-64.so.2",
            "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        )
        .file(
            &lib("libc.so.6"),
            0o755,
            ElfSpec::lib64()
                .soname("libc.so.6")
                .needed("ld-linux-x86-64.so.2")
                .build(),
        )
}
