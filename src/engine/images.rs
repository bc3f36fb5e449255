//! Images: inspect, pull, load, tag checks, removal.

use std::collections::BTreeMap;
use std::path::Path;

use bollard::query_parameters::{CreateImageOptions, ImportImageOptions, RemoveImageOptions};
use futures_util::StreamExt;

use super::error::{describe, is_not_found};
use super::{Engine, EngineError};
use crate::image::{Healthcheck, ImageRef, ImageSpec};

/// Which of the engine's builders runs a build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builder {
    Classic,
    BuildKit,
}

/// Progress of a pull, one message per status line the engine sends.
pub trait PullProgress {
    fn status(&self, message: &str);
}

impl<F: Fn(&str)> PullProgress for F {
    fn status(&self, message: &str) {
        self(message)
    }
}

/// One image of the engine's list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageListing {
    pub id: String,
    pub repo_tags: Vec<String>,
    pub labels: std::collections::HashMap<String, String>,
    pub size: u64,
}

impl Engine {
    /// Inspect an image by reference or ID; `None` if the engine does not have it.
    pub async fn inspect_image(&self, reference: &str) -> Result<Option<ImageSpec>, EngineError> {
        match self.docker.inspect_image(reference).await {
            Ok(inspect) => Ok(Some(spec_from_inspect(inspect))),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(EngineError::api(format!("inspecting image {reference}"), e)),
        }
    }

    /// Pull an image from its registry.
    pub async fn pull(
        &self,
        reference: &ImageRef,
        progress: &dyn PullProgress,
    ) -> Result<(), EngineError> {
        let options = CreateImageOptions {
            from_image: Some(reference.name.clone()),
            tag: Some(
                reference
                    .digest
                    .clone()
                    .unwrap_or_else(|| reference.tag_or_latest().to_string()),
            ),
            ..Default::default()
        };
        let credentials = super::credentials::credentials_for(&super::credentials::registry_host(
            &reference.name,
        ));
        let mut stream = self.docker.create_image(Some(options), None, credentials);
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(status) = info.status {
                        let id = info.id.unwrap_or_default();
                        progress.status(format!("{id} {status}").trim());
                    }
                }
                Err(e) => {
                    return Err(EngineError::PullFailed {
                        reference: reference.to_string(),
                        message: describe(&e),
                    });
                }
            }
        }
        Ok(())
    }

    /// Load a `docker save`-format archive from a file.
    pub async fn load_archive(&self, archive: &Path) -> Result<(), EngineError> {
        let file = tokio::fs::File::open(archive)
            .await
            .map_err(|e| EngineError::io(format!("opening {}", archive.display()), e))?;
        let body = tokio_util::io::ReaderStream::new(file);
        let mut stream = self.docker.import_image_stream(
            ImportImageOptions {
                quiet: true,
                ..Default::default()
            },
            body,
            None,
        );
        while let Some(item) = stream.next().await {
            item.map_err(|e| EngineError::api("loading the slim image into the engine", e))?;
        }
        Ok(())
    }

    /// `docker save` one image into a file.
    pub async fn save_image(&self, reference: &str, dest: &Path) -> Result<(), EngineError> {
        let mut stream = self.docker.export_image(reference);
        let mut file = tokio::fs::File::create(dest)
            .await
            .map_err(|e| EngineError::io(format!("creating {}", dest.display()), e))?;
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| EngineError::api(format!("saving image {reference}"), e))?;
            tokio::io::AsyncWriteExt::write_all(&mut file, &chunk)
                .await
                .map_err(|e| EngineError::io(format!("writing {}", dest.display()), e))?;
        }
        tokio::io::AsyncWriteExt::flush(&mut file)
            .await
            .map_err(|e| EngineError::io(format!("writing {}", dest.display()), e))?;
        Ok(())
    }

    /// All images the engine has, with their labels and sizes.
    pub async fn list_images(&self) -> Result<Vec<ImageListing>, EngineError> {
        let options = bollard::query_parameters::ListImagesOptions {
            all: false,
            ..Default::default()
        };
        let summaries = self
            .docker
            .list_images(Some(options))
            .await
            .map_err(|e| EngineError::api("listing images", e))?;
        Ok(summaries
            .into_iter()
            .map(|s| ImageListing {
                id: s.id,
                repo_tags: s.repo_tags,
                labels: s.labels,
                size: s.size.max(0) as u64,
            })
            .collect())
    }

    /// Remove an image slim loaded for itself, even if something still names it.
    pub(super) async fn remove_image_forced(&self, id: &str) -> Result<(), EngineError> {
        let options = RemoveImageOptions {
            force: true,
            noprune: false,
            ..Default::default()
        };
        match self.docker.remove_image(id, Some(options), None).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(EngineError::api(format!("removing image {id}"), e)),
        }
    }

    /// Remove an image (only by ID or a tag slim owns).
    pub async fn remove_image(&self, reference: &str) -> Result<(), EngineError> {
        let options = RemoveImageOptions {
            force: false,
            noprune: false,
            ..Default::default()
        };
        match self
            .docker
            .remove_image(reference, Some(options), None)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(EngineError::api(format!("removing image {reference}"), e)),
        }
    }

    /// Build an image from a tar build context. Returns the engine's output.
    pub async fn build_image(
        &self,
        context_tar: Vec<u8>,
        dockerfile: &str,
        tag: &str,
        build_args: &BTreeMap<String, String>,
        builder: Builder,
    ) -> Result<String, EngineError> {
        if builder == Builder::BuildKit {
            return self
                .build_with_buildkit(context_tar, dockerfile, tag, build_args)
                .await;
        }
        let options = bollard::query_parameters::BuildImageOptions {
            dockerfile: dockerfile.to_string(),
            t: Some(tag.to_string()),
            rm: true,
            forcerm: true,
            buildargs: Some(
                build_args
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            ..Default::default()
        };
        let mut stream =
            self.docker
                .build_image(options, None, Some(bollard::body_full(context_tar.into())));
        let mut output = String::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(text) = info.stream {
                        output.push_str(&text);
                    }
                    if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                        return Err(EngineError::Api {
                            action: format!("building {tag}"),
                            message: format!("{detail}\n{output}"),
                        });
                    }
                }
                Err(e) => {
                    return Err(EngineError::Api {
                        action: format!("building {tag}"),
                        message: format!("{}\n{output}", describe(&e)),
                    });
                }
            }
        }
        Ok(output)
    }
}

fn spec_from_inspect(inspect: bollard::models::ImageInspect) -> ImageSpec {
    let config = inspect.config.unwrap_or_default();
    let created = inspect.created.and_then(|c| {
        c.format(&time::format_description::well_known::Rfc3339)
            .ok()
    });
    ImageSpec {
        id: inspect.id.unwrap_or_default(),
        repo_digests: inspect.repo_digests.unwrap_or_default(),
        repo_tags: inspect.repo_tags.unwrap_or_default(),
        architecture: inspect.architecture.unwrap_or_default(),
        os: inspect.os.unwrap_or_default(),
        created,
        size: inspect.size.unwrap_or_default().max(0) as u64,
        layers: inspect
            .root_fs
            .and_then(|r| r.layers)
            .map_or(0, |l| l.len()),
        user: config.user.unwrap_or_default(),
        entrypoint: config.entrypoint.unwrap_or_default(),
        cmd: config.cmd.unwrap_or_default(),
        env: config.env.unwrap_or_default(),
        working_dir: config.working_dir.unwrap_or_default(),
        exposed_ports: config.exposed_ports.unwrap_or_default(),
        volumes: config.volumes.unwrap_or_default(),
        labels: config.labels.unwrap_or_default().into_iter().collect(),
        stop_signal: config.stop_signal.filter(|s| !s.is_empty()),
        healthcheck: config.healthcheck.map(|h| Healthcheck {
            test: h.test,
            interval: h.interval,
            timeout: h.timeout,
            retries: h.retries,
            start_period: h.start_period,
        }),
    }
}
