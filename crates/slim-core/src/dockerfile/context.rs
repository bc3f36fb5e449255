//! The build context sent to the engine: the context directory as a tar, without what its
//! `.dockerignore` leaves out (the engine's API expects the client to apply it).

use std::path::Path;

use thiserror::Error;

use crate::lint::ignore_file::IgnoreFile;

/// Name under which a Dockerfile from outside the context travels inside it.
const OUTSIDE_DOCKERFILE: &str = ".slim.Dockerfile";

#[derive(Debug, Error)]
pub enum ContextError {
    #[error("{}: {source}", path.display())]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Ignore {
        path: std::path::PathBuf,
        #[source]
        source: crate::lint::ignore_file::PatternError,
    },
}

/// A build context: the tar and the Dockerfile's path inside it.
pub struct BuildContext {
    pub tar: Vec<u8>,
    pub dockerfile: String,
}

/// Tar `dir` for a build of `dockerfile` (which may live outside `dir`).
pub fn build_context(dir: &Path, dockerfile: &Path) -> Result<BuildContext, ContextError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ContextError::Io { path, source }
    };
    let ignore_path = dir.join(".dockerignore");
    let ignore = match std::fs::read_to_string(&ignore_path) {
        Ok(text) => IgnoreFile::parse(&text).map_err(|source| ContextError::Ignore {
            path: ignore_path.clone(),
            source,
        })?,
        Err(_) => IgnoreFile::default(),
    };
    let has_exceptions = ignore.patterns.iter().any(|p| p.exception);
    let dir_abs = std::fs::canonicalize(dir).map_err(io(dir))?;
    let dockerfile_abs = std::fs::canonicalize(dockerfile).map_err(io(dockerfile))?;
    let inside = dockerfile_abs
        .strip_prefix(&dir_abs)
        .ok()
        .map(|p| p.to_string_lossy().into_owned());

    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    let mut walker = walkdir::WalkDir::new(&dir_abs)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = walker.next() {
        let entry = entry.map_err(|e| ContextError::Io {
            path: dir.to_path_buf(),
            source: e.into(),
        })?;
        let Ok(relative) = entry.path().strip_prefix(&dir_abs) else {
            continue;
        };
        let name = relative.to_string_lossy().replace('\\', "/");
        if name.is_empty() {
            continue;
        }
        // The Dockerfile and .dockerignore always travel: the builder reads them.
        let always = name == ".dockerignore" || Some(&name) == inside.as_ref();
        if !always && ignore.excludes(&name) {
            if entry.file_type().is_dir() && !has_exceptions {
                walker.skip_current_dir();
            }
            continue;
        }
        builder
            .append_path_with_name(entry.path(), &name)
            .map_err(io(entry.path()))?;
    }
    let dockerfile_name = match inside {
        Some(name) => name,
        None => {
            let text = std::fs::read(&dockerfile_abs).map_err(io(dockerfile))?;
            let mut header = tar::Header::new_gnu();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_uid(0);
            header.set_gid(0);
            builder
                .append_data(&mut header, OUTSIDE_DOCKERFILE, text.as_slice())
                .map_err(io(dockerfile))?;
            OUTSIDE_DOCKERFILE.to_string()
        }
    };
    let tar = builder.into_inner().map_err(io(dir))?;
    Ok(BuildContext {
        tar,
        dockerfile: dockerfile_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(tar: &[u8]) -> Vec<String> {
        let mut archive = tar::Archive::new(tar);
        archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn leaves_out_what_dockerignore_says() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".git/objects")).unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join(".git/objects/x"), b"x").unwrap();
        std::fs::write(dir.path().join(".env"), b"SECRET=1").unwrap();
        std::fs::write(dir.path().join("src/main.py"), b"print(1)").unwrap();
        std::fs::write(dir.path().join("Dockerfile"), b"FROM scratch").unwrap();
        std::fs::write(
            dir.path().join(".dockerignore"),
            b".git\n.env\nDockerfile\n",
        )
        .unwrap();
        let context = build_context(dir.path(), &dir.path().join("Dockerfile")).unwrap();
        assert_eq!(context.dockerfile, "Dockerfile");
        let names = names(&context.tar);
        assert_eq!(names, [".dockerignore", "Dockerfile", "src", "src/main.py"]);
    }

    #[test]
    fn a_dockerfile_outside_the_context_travels_inside() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join("app.Dockerfile"), b"FROM scratch").unwrap();
        std::fs::write(dir.path().join("a.txt"), b"a").unwrap();
        let context = build_context(dir.path(), &elsewhere.path().join("app.Dockerfile")).unwrap();
        assert_eq!(context.dockerfile, OUTSIDE_DOCKERFILE);
        assert_eq!(names(&context.tar), ["a.txt", OUTSIDE_DOCKERFILE]);
    }
}
