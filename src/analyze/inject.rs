//! Putting the sensor into a container: it travels through the archive API, not a bind mount,
//! so the engine may be remote.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Where the sensor and its files live inside analysed containers.
pub const SLIM_DIR: &str = "/.slim";
pub const SENSOR_PATH: &str = "/.slim/sensor";

#[derive(Debug, Error)]
pub enum SensorError {
    #[error(
        "the sensor executable slim-sensor was not found at {0}\n\
         `cargo build` in slim's workspace builds it beside slim; `cargo install --path crates/slim-sensor` installs it beside an installed slim; or set SLIM_SENSOR to its path."
    )]
    Missing(PathBuf),
    #[error("reading the sensor executable {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The sensor executable: `$SLIM_SENSOR`, else `slim-sensor` next to the running slim.
pub fn locate_sensor() -> Result<PathBuf, SensorError> {
    let path = beside_slim("SLIM_SENSOR", "slim-sensor");
    if path.is_file() {
        Ok(path)
    } else {
        Err(SensorError::Missing(path))
    }
}

/// slim's stand-in for gosu & co.: `$SLIM_SWITCH`, else `slim-switch` next to the running
/// slim; `None` if it is not there (it is needed only by images that switch users).
pub fn locate_switch_shim() -> Option<PathBuf> {
    Some(beside_slim("SLIM_SWITCH", "slim-switch")).filter(|p| p.is_file())
}

/// `$VAR` if set, else `name` in the running slim's directory.
fn beside_slim(var: &str, name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(name)))
        .unwrap_or_else(|| PathBuf::from(name))
}

/// A tar that creates /.slim (writable by any user, so a non-root app's sensor can write its
/// report) holding the sensor and the given extra files.
pub fn sensor_archive(
    sensor: &Path,
    extra_files: &[(&str, &[u8])],
) -> Result<Vec<u8>, SensorError> {
    let read_error = |source| SensorError::Read {
        path: sensor.to_path_buf(),
        source,
    };
    let binary = std::fs::read(sensor).map_err(read_error)?;
    let mut builder = tar::Builder::new(Vec::with_capacity(binary.len() + 4096));
    let mut append = |name: &str, mode: u32, kind: tar::EntryType, data: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_size(data.len() as u64);
        builder.append_data(&mut header, name, data)
    };
    let dir = SLIM_DIR.trim_start_matches('/');
    append(&format!("{dir}/"), 0o1777, tar::EntryType::Directory, &[]).map_err(read_error)?;
    append(
        &format!("{dir}/sensor"),
        0o755,
        tar::EntryType::Regular,
        &binary,
    )
    .map_err(read_error)?;
    for (name, data) in extra_files {
        append(
            &format!("{dir}/{name}"),
            0o644,
            tar::EntryType::Regular,
            data,
        )
        .map_err(read_error)?;
    }
    builder.into_inner().map_err(read_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_holds_sensor_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let sensor = dir.path().join("sensor");
        std::fs::write(&sensor, b"\x7fELF fake").unwrap();
        let tar = sensor_archive(&sensor, &[("request.json", b"{}")]).unwrap();
        let mut archive = tar::Archive::new(tar.as_slice());
        let entries: Vec<(String, u32)> = archive
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().to_string_lossy().into_owned(),
                    e.header().mode().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            [
                (".slim/".into(), 0o1777),
                (".slim/sensor".into(), 0o755),
                (".slim/request.json".into(), 0o644)
            ]
        );
    }

    #[test]
    fn missing_sensor_names_the_path() {
        let err = sensor_archive(Path::new("/nonexistent/slim-sensor"), &[]).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/slim-sensor"));
    }
}
