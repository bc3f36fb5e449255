//! Collecting the kept files: a fresh container of the source image (never the analysed one,
//! whose files the app may have changed) runs the resolver over its own root and hands back
//! one tar of exactly the kept set. Nothing else of the image is ever copied out.

use std::io::Read;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::analyze::inject::{SENSOR_PATH, SensorError, sensor_archive};
use crate::analyze::run::{container_labels, output_tail};
use crate::engine::{ContainerSpec, Containers, EngineError};
use crate::image::ImageSpec;
use crate::progress::Progress;
use crate::resolve::ResolveRequest;
use crate::resolve::app_content::RootHint;
use crate::resolve::imports::Language;
use crate::resolve::pack::{KEPT_TAR, OUTCOME_JSON, PackOutcome};

const OUT_DIR: &str = "/.slim/out";

/// The kept-set tar on local disk and what the resolver reported.
#[derive(Debug)]
pub struct Collected {
    pub kept_tar: PathBuf,
    pub outcome: PackOutcome,
}

#[derive(Debug, Error)]
pub enum CollectError {
    #[error("resolving the kept files inside the image failed (exit status {code}):\n{output}")]
    PackFailed { code: i64, output: String },
    #[error("the resolver's output is incomplete: {0} is missing")]
    Incomplete(&'static str),
    #[error("the resolver's outcome is unreadable: {0}")]
    BadOutcome(#[from] serde_json::Error),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Sensor(#[from] SensorError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Resolve `request` inside a fresh container of `image` and fetch the kept set into `workdir`.
pub async fn collect(
    engine: &impl Containers,
    image: &ImageSpec,
    source_name: &str,
    sensor: &Path,
    request: &ResolveRequest,
    workdir: &Path,
    progress: &dyn Progress,
) -> Result<Collected, CollectError> {
    let request_json = serde_json::to_vec(request)?;
    let body = ContainerSpec {
        image: image.id.clone(),
        // root, so that files the app's own user cannot read are still copied
        user: Some("0:0".into()),
        entrypoint: Some(
            [
                SENSOR_PATH,
                "pack",
                "--request",
                "/.slim/request.json",
                "--out",
                OUT_DIR,
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ),
        cmd: Some(Vec::new()),
        working_dir: Some("/".into()),
        labels: container_labels("collect", source_name),
        no_network: true,
        ..ContainerSpec::default()
    };
    progress.step("starting the resolver in a fresh container of the source image");
    let run = engine.create_container(body).await?;
    engine
        .upload_tar(
            &run,
            "/",
            sensor_archive(sensor, &[("request.json", &request_json)])?,
        )
        .await?;
    engine.start(&run).await?;
    progress.step("resolving symlinks, ELF libraries and interpreters");
    let code = engine.wait_exit(&run).await?;
    if code != 0 {
        let logs = engine.logs(&run).await?;
        return Err(CollectError::PackFailed {
            code,
            output: output_tail(&logs),
        });
    }
    progress.step("copying the kept files out");
    let archive = workdir.join("collected.tar");
    if !engine.download_archive(&run, OUT_DIR, &archive).await? {
        return Err(CollectError::Incomplete("the output directory"));
    }
    engine.remove_container(&run).await?;
    let kept_tar = workdir.join("kept.tar");
    let outcome = tokio::task::spawn_blocking({
        let (archive, kept_tar) = (archive.clone(), kept_tar.clone());
        move || unpack_collected(&archive, &kept_tar)
    })
    .await
    .map_err(|e| CollectError::Io {
        path: archive.clone(),
        source: std::io::Error::other(e),
    })??;
    let _ = std::fs::remove_file(&archive);
    Ok(Collected { kept_tar, outcome })
}

/// The engine wraps the output directory in a tar of its own: take the kept tar and the
/// outcome out of it.
fn unpack_collected(archive: &Path, kept_tar: &Path) -> Result<PackOutcome, CollectError> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CollectError::Io { path, source }
    };
    let file = std::fs::File::open(archive).map_err(io_error(archive))?;
    let mut outer = tar::Archive::new(std::io::BufReader::new(file));
    let (mut have_tar, mut outcome) = (false, None);
    for entry in outer.entries().map_err(io_error(archive))? {
        let mut entry = entry.map_err(io_error(archive))?;
        let name = entry
            .path()
            .map_err(io_error(archive))?
            .to_string_lossy()
            .into_owned();
        if name.ends_with(&format!("/{KEPT_TAR}")) {
            let mut out = std::fs::File::create(kept_tar).map_err(io_error(kept_tar))?;
            std::io::copy(&mut entry, &mut out).map_err(io_error(kept_tar))?;
            have_tar = true;
        } else if name.ends_with(&format!("/{OUTCOME_JSON}")) {
            let mut text = Vec::new();
            entry.read_to_end(&mut text).map_err(io_error(archive))?;
            outcome = Some(serde_json::from_slice(&text)?);
        }
    }
    if !have_tar {
        return Err(CollectError::Incomplete(KEPT_TAR));
    }
    outcome.ok_or(CollectError::Incomplete(OUTCOME_JSON))
}

/// Paths never taken from the image: kernel and engine mounts, and slim's own directory.
/// (Docker also recreates /etc/mtab in every container, pointing it at /proc/mounts.)
pub const NEVER_KEPT: &[&str] = &[
    "/proc",
    "/sys",
    "/dev",
    "/.slim",
    "/etc/hosts",
    "/etc/hostname",
    "/etc/resolv.conf",
    "/etc/mtab",
    "/.dockerenv",
];

/// Where CA certificates live across distributions (`--include-cert-all`).
pub const CA_CERTIFICATE_PATHS: &[&str] = &[
    "/etc/ssl/certs",
    "/etc/ssl/cert.pem",
    "/etc/pki/tls/certs",
    "/etc/pki/tls/cert.pem",
    "/etc/pki/ca-trust/extracted",
    "/usr/share/ca-certificates",
    "/etc/ca-certificates.conf",
    "/usr/lib/ssl/cert.pem",
    "/usr/lib/ssl/certs",
];
/// Time zone data (`--include-zoneinfo`).
pub const ZONEINFO_PATHS: &[&str] = &["/usr/share/zoneinfo", "/etc/localtime", "/etc/timezone"];
/// Compiled locales and their sources (`--include-locale`).
pub const LOCALE_PATHS: &[&str] = &[
    "/usr/lib/locale",
    "/usr/share/i18n",
    "/etc/locale.gen",
    "/etc/default/locale",
];

/// What the user asked to keep or leave out beyond the trace.
#[derive(Debug, Clone, Default)]
pub struct KeepControls {
    /// files, directories (whole) or globs (`--include-path`, `--include-path-file`, `--preserve-path`)
    pub include_paths: Vec<String>,
    /// executables kept with their ELF closure (`--include-bin`)
    pub include_bins: Vec<String>,
    /// programs found along the image's PATH (`--include-exe`, `--include-shell` adds `sh`)
    pub include_exes: Vec<String>,
    /// globs never kept (`--exclude-pattern`)
    pub exclude_patterns: Vec<String>,
    /// runtime profiles to apply
    pub profiles: Vec<crate::resolve::profile::Profile>,
    pub include_cert_all: bool,
    pub include_zoneinfo: bool,
    pub include_locale: bool,
    pub keep_package_db: bool,
    /// languages whose imports are followed (`--include-imports`, `--skip-imports`)
    pub imports: Vec<Language>,
    /// keep the app's content roots whole (`--include-app-dir`)
    pub app_content: bool,
    /// the WORKDIR is a content root (`--include-workdir`)
    pub include_workdir: bool,
}

/// What the resolver needs to know about a traced run of `image`.
pub fn resolve_request(
    image: &ImageSpec,
    trace: &crate::sensor::report::TraceReport,
    controls: &KeepControls,
) -> ResolveRequest {
    use crate::resolve::Reason;
    // The user database: the rebuilder adds the non-root user to it.
    let mut extra: Vec<(String, Reason)> = vec![
        ("/etc/passwd".into(), Reason::User),
        ("/etc/group".into(), Reason::User),
    ];
    let user_paths = controls.include_paths.iter().chain(&controls.include_bins);
    extra.extend(user_paths.map(|p| (p.clone(), Reason::Include)));
    let flagged: [(bool, &[&str]); 3] = [
        (controls.include_cert_all, CA_CERTIFICATE_PATHS),
        (controls.include_zoneinfo, ZONEINFO_PATHS),
        (controls.include_locale, LOCALE_PATHS),
    ];
    for (wanted, paths) in flagged {
        if wanted {
            extra.extend(paths.iter().map(|p| (p.to_string(), Reason::Include)));
        }
    }
    let workdir = Some(image.working_dir.clone()).filter(|w| w.starts_with('/'));
    let mut app_hints = Vec::new();
    if controls.include_workdir
        && let Some(dir) = workdir.as_ref().filter(|w| *w != "/")
    {
        app_hints.push(RootHint {
            path: dir.clone(),
            evidence: "WORKDIR".into(),
        });
    }
    app_hints.extend(command_paths(&image.command(), workdir.as_deref()));
    ResolveRequest {
        imports: controls.imports.clone(),
        app_content: controls.app_content,
        app_hints,
        env: image
            .env
            .iter()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        workdir,
        traced: trace.files.clone(),
        extra,
        env_path: image.path_dirs(),
        ld_library_path: image.ld_library_path(),
        exclude: NEVER_KEPT.iter().map(|p| p.to_string()).collect(),
        include_exe: controls.include_exes.clone(),
        exclude_patterns: controls.exclude_patterns.clone(),
        profiles: controls.profiles.clone(),
        keep_package_db: controls.keep_package_db,
    }
}

/// Paths the image's command names (a script, a config, a directory), each as a content
/// root hint: its directory, or itself if it is one. Words of a `sh -c` string count too.
/// The resolver drops the ones that do not exist or are system directories.
fn command_paths(command: &[String], workdir: Option<&str>) -> Vec<RootHint> {
    let mut hints: Vec<RootHint> = Vec::new();
    for word in command.iter().flat_map(|arg| arg.split_whitespace()) {
        let value = word.rsplit_once('=').map_or(word, |(_, v)| v);
        let looks_like_path = value.starts_with('/')
            || value.starts_with("./")
            || SCRIPT_EXTENSIONS.iter().any(|e| value.ends_with(e));
        if !looks_like_path || value.contains(['$', '*', '`']) {
            continue;
        }
        let path = match (value.starts_with('/'), workdir) {
            (true, _) => value.to_string(),
            (false, Some(dir)) => format!(
                "{}/{}",
                dir.trim_end_matches('/'),
                value.trim_start_matches("./")
            ),
            (false, None) => format!("/{}", value.trim_start_matches("./")),
        };
        let dir = if SCRIPT_EXTENSIONS.iter().any(|e| path.ends_with(e)) {
            crate::resolve::walk::parent(&path)
                .unwrap_or("/")
                .to_string()
        } else {
            path.clone()
        };
        if !hints.iter().any(|h| h.path == dir) {
            hints.push(RootHint {
                path: dir,
                evidence: format!("command argument {word}"),
            });
        }
    }
    hints
}

/// Endings of files whose directory is the app's (a script, a page, an archive).
const SCRIPT_EXTENSIONS: &[&str] = &[
    ".py", ".js", ".mjs", ".cjs", ".php", ".rb", ".pl", ".pm", ".sh", ".jar", ".war", ".lua",
    ".tcl",
];

#[cfg(test)]
mod lifecycle_tests {
    //! The collection container's lifecycle against a scripted engine.

    use std::collections::BTreeMap;

    use super::*;
    use crate::engine::fake::{FakeEngine, Script};
    use crate::progress::Silent;

    /// The tar the engine returns for OUT_DIR: the kept tar and the outcome inside `out/`.
    fn out_dir_archive() -> Vec<u8> {
        let mut kept = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(2);
        header.set_mode(0o644);
        kept.append_data(&mut header, "app/x", &b"hi"[..]).unwrap();
        let kept = kept.into_inner().unwrap();
        let outcome = serde_json::to_vec(&PackOutcome::default()).unwrap();
        let mut outer = tar::Builder::new(Vec::new());
        for (name, data) in [("out/kept.tar", kept), ("out/outcome.json", outcome)] {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            outer
                .append_data(&mut header, name, data.as_slice())
                .unwrap();
        }
        outer.into_inner().unwrap()
    }

    async fn run_collect(engine: &FakeEngine, work: &Path) -> Result<Collected, CollectError> {
        let sensor = tempfile::NamedTempFile::new().unwrap();
        let image = ImageSpec {
            id: "sha256:source".into(),
            ..ImageSpec::default()
        };
        let request = ResolveRequest::default();
        collect(
            engine,
            &image,
            "app:1",
            sensor.path(),
            &request,
            work,
            &Silent,
        )
        .await
    }

    #[tokio::test]
    async fn the_kept_tar_comes_out_and_the_container_is_removed() {
        let script = Script {
            archives: BTreeMap::from([(OUT_DIR.to_string(), out_dir_archive())]),
            ..Script::default()
        };
        let engine = FakeEngine::with(&[("collect", script)]);
        let work = tempfile::tempdir().unwrap();
        let collected = run_collect(&engine, work.path()).await.unwrap();
        assert!(collected.kept_tar.is_file());
        assert!(engine.live().is_empty());
        let spec = engine.spec_of("collect").unwrap();
        // root, no network: it only reads the image's files
        assert_eq!(spec.user.as_deref(), Some("0:0"));
        assert!(spec.no_network);
    }

    #[tokio::test]
    async fn a_failed_resolver_is_an_error_with_its_output_and_cleanup_removes_it() {
        let script = Script {
            exit_code: 1,
            stderr: b"pack: the request is not valid JSON\n".to_vec(),
            ..Script::default()
        };
        let engine = FakeEngine::with(&[("collect", script)]);
        let work = tempfile::tempdir().unwrap();
        let error = run_collect(&engine, work.path()).await.unwrap_err();
        assert!(error.to_string().contains("not valid JSON"), "{error}");
        engine.cleanup().await;
        assert!(engine.live().is_empty());
    }
}
