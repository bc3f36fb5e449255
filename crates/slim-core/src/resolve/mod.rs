//! From traced paths to the files a slim image keeps, and the tar of those files.

pub mod account;
pub mod app_content;
pub mod copyright;
pub mod elf;
pub mod exclude;
pub mod imports;
pub mod keep;
pub mod kept_tar;
pub mod ldconfig;
pub mod libsearch;
pub mod live;
pub mod memtree;
pub mod nss;
pub mod pack;
pub mod packagedb;
pub mod profile;
pub mod resolver;
pub mod shebang;
pub mod tree;
pub mod walk;

#[cfg(test)]
mod elf_fixture;
#[cfg(test)]
mod test_trees;

pub use elf::{ElfAbi, ElfCache, ElfClass, ElfError, ElfInfo, read_elf_info};
pub use exclude::{ExcludeList, RelativeExclude};
pub use keep::{KeepSet, Kept, Reason};
pub use kept_tar::{PackError, PackStats, TreeStats, summarize, write_kept_tar};
pub use live::LiveTree;
pub use memtree::MemTree;
pub use packagedb::{PackageDb, PackageDbFormat};
pub use profile::{Profile, ProfileError, ProfileFiring, builtin_profiles};
pub use resolver::{
    Resolution, ResolveError, ResolveRequest, UnparsedFile, UnresolvedModule, resolve,
};
pub use tree::{Entry, FileTree, Kind};
pub use walk::{
    PathWalk, WalkEnd, WalkError, normalize_lexical, resolve_path, resolve_path_guarded,
};
