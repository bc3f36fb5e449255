//! What a slimming command asks for, checked before any work: the source, the user, how to
//! analyze, what to keep ([`SlimRequest`]); and what `slim build` does with the result
//! ([`BuildPlan`]).

use std::path::PathBuf;

use crate::analyze::AnalysisOptions;
use crate::archive::ImageLocation;
use crate::collect::KeepControls;
use crate::engine::Builder;
use crate::image::{ImageRef, UserSpec};
use crate::verify::judge::Judge;

/// The parts every slimming command has.
pub struct SlimRequest {
    pub source: ImageRef,
    /// the reference exactly as given, passed to the engine
    pub source_text: String,
    pub user: Option<UserSpec>,
    pub analysis: AnalysisOptions,
    pub controls: KeepControls,
    /// where the report goes
    pub report: PathBuf,
    /// the source given as an image file (docker-archive:, oci:, oci-archive:)
    pub source_file: Option<ImageLocation>,
    /// refuse to work on any other source than this digest (`--verify-source`)
    pub verify_source: Option<String>,
    /// slim's stand-in for gosu & co. (`slim-switch`), if it is installed
    pub switch_shim: Option<PathBuf>,
    /// write a seccomp profile of the syscalls the app made here (`--seccomp-profile`)
    pub seccomp_profile: Option<PathBuf>,
}

impl SlimRequest {
    /// Ask for a seccomp profile at `path`: the analysis then records every syscall.
    pub fn write_seccomp_profile(&mut self, path: PathBuf) {
        self.seccomp_profile = Some(path);
        self.analysis.all_syscalls = true;
    }
}

/// What `slim build` does beyond the shared stages.
pub struct BuildPlan {
    /// the slim image's name (`--tag`, else `NAME.slim:TAG`)
    pub tag: String,
    /// replace an image or file that is in the way
    pub force: bool,
    pub verify: bool,
    /// how verification compares answers
    pub judge: Judge,
    /// where the slim image goes
    pub output: OutputTarget,
    /// also write a multi-stage Dockerfile here
    pub dockerfile_out: Option<PathBuf>,
    /// build the source from the user's Dockerfile first
    pub from_dockerfile: Option<FromDockerfile>,
    /// push the slim image here after it passed verification
    pub push: Option<ImageRef>,
    /// sign the pushed manifest with this key (`--sign-key`)
    pub sign: Option<crate::sign::PrivateKey>,
    /// write an SBOM of the slim image here, in this format
    pub sbom: Option<(PathBuf, crate::sbom::SbomFormat)>,
}

/// `--output`: the engine, or an image file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputTarget {
    Engine,
    File(ImageLocation),
}

/// `--dockerfile`: the image to slim is built first.
#[derive(Debug, Clone)]
pub struct FromDockerfile {
    pub dockerfile: PathBuf,
    pub context: PathBuf,
    pub builder: Builder,
}

/// `docker-archive:PATH`, `oci:DIR` or `oci-archive:PATH`, if `text` names an image file.
pub fn image_file(text: &str) -> Result<Option<ImageLocation>, crate::archive::LocationError> {
    let is_file = crate::archive::location::TRANSPORTS
        .iter()
        .any(|t| text.starts_with(&format!("{t}:")));
    if !is_file {
        return Ok(None);
    }
    text.parse().map(Some)
}

/// The name an image file's slim result is derived from: its REF, else the file's stem.
pub fn naming_reference(location: &ImageLocation) -> ImageRef {
    let from_ref = location.reference().and_then(|r| ImageRef::parse(r).ok());
    from_ref.unwrap_or_else(|| {
        let stem = location
            .path()
            .file_stem()
            .map(|s| s.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let name: String = stem
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let name = name
            .trim_matches(|c: char| !c.is_ascii_alphanumeric())
            .to_string();
        ImageRef::parse(if name.is_empty() { "image" } else { &name }).unwrap_or_else(|_| {
            ImageRef {
                name: "image".into(),
                tag: None,
                digest: None,
                is_id: false,
            }
        })
    })
}
