//! Rules about what stages start FROM: SL003 (untagged or :latest), SL004 (no digest),
//! SL005 (a smaller variant of the final base exists), SL006 (an SDK image as the final base).

use super::Findings;
use super::rules::{FLOATING_TAG, NO_DIGEST, SDK_FINAL_BASE, SLIM_VARIANT};
use crate::dockerfile::{BaseSource, Dockerfile, Stage};
use crate::image::ImageRef;

pub(super) fn check(dockerfile: &Dockerfile, out: &mut Findings) {
    for stage in &dockerfile.stages {
        let Some(image) = external_base(stage) else {
            continue;
        };
        // `${BASE} (python:latest)` when an ARG chose the image, so both are recognisable.
        let written = if stage.base.raw == stage.base.expanded {
            stage.base.expanded.clone()
        } else {
            format!("{} ({})", stage.base.raw, stage.base.expanded)
        };
        let expanded = &stage.base.expanded;
        if image.digest.is_none() {
            match image.tag.as_deref() {
                None => out.add(
                    FLOATING_TAG,
                    stage.from.lines,
                    format!("FROM {written} has no tag, so it means {expanded}:latest, whatever that is on build day"),
                    Some(format!("pin a version tag: FROM {}:<version>", image.name)),
                ),
                Some("latest") => out.add(
                    FLOATING_TAG,
                    stage.from.lines,
                    format!("FROM {written} follows whatever is newest on build day"),
                    Some(format!("pin a version tag: FROM {}:<version>", image.name)),
                ),
                Some(_) => {}
            }
            out.add(
                NO_DIGEST,
                stage.from.lines,
                format!("{written} is not pinned by digest"),
                Some(format!(
                    "FROM {expanded}@sha256:<digest> (`docker buildx imagetools inspect {expanded}` prints it; Renovate or Dependabot keep it current)"
                )),
            );
        }
    }

    // Size and toolchain only matter for the stages the final image is made of.
    let lineage = dockerfile.final_lineage();
    let base_stage = lineage[0];
    let Some(image) = external_base(base_stage) else {
        return;
    };
    let lines = base_stage.from.lines;
    if let Some(sdk) = sdk_image(&image) {
        out.add(
            SDK_FINAL_BASE,
            lines,
            format!(
                "the final image is built on {}, {}",
                base_stage.base.expanded, sdk.what
            ),
            Some(sdk.fix),
        );
    } else if let Some((message, fix)) = slim_variant(&image) {
        out.add(SLIM_VARIANT, lines, message, Some(fix));
    }
}

/// The stage's base as a reference, when it is an image whose name is fully known.
fn external_base(stage: &Stage) -> Option<ImageRef> {
    if stage.base.source != BaseSource::Image || !stage.base.unset.is_empty() {
        return None;
    }
    ImageRef::parse(&stage.base.expanded)
        .ok()
        .filter(|r| !r.is_id)
}

/// The name's first component is a registry when it has a `.` or `:`, or is `localhost`.
fn split_registry(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

/// `python` for `python`, `library/python` and `docker.io/library/python`; None for others.
fn official_name(name: &str) -> Option<&str> {
    let (registry, path) = split_registry(name);
    if registry.is_some_and(|r| r != "docker.io" && r != "index.docker.io") {
        return None;
    }
    let path = path.strip_prefix("library/").unwrap_or(path);
    (!path.contains('/')).then_some(path)
}

fn last_component(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

struct Sdk {
    what: String,
    fix: String,
}

const JDK_IMAGES: [&str; 6] = [
    "openjdk",
    "eclipse-temurin",
    "amazoncorretto",
    "ibm-semeru-runtimes",
    "sapmachine",
    "adoptopenjdk",
];

/// Toolchain images: compilers, build tools and JDKs, which belong in a build stage.
fn sdk_image(image: &ImageRef) -> Option<Sdk> {
    let repo = last_component(&image.name);
    let tag = image.tag.as_deref().unwrap_or("latest");
    let tag_words: Vec<&str> = tag.split(['-', '.']).collect();
    let build_and_copy = |artifact: &str, runtime: &str| {
        format!(
            "build in a stage (FROM {} AS build), then COPY --from=build only the {artifact} into {runtime}",
            image
        )
    };
    let sdk = |what: &str, fix: String| {
        Some(Sdk {
            what: what.into(),
            fix,
        })
    };
    match repo {
        "golang" => sdk(
            "the whole Go toolchain (about 800 MB)",
            build_and_copy(
                "binary",
                "gcr.io/distroless/static-debian12:nonroot or scratch",
            ),
        ),
        "rust" => sdk(
            "the whole Rust toolchain (over 1 GB)",
            build_and_copy(
                "binary",
                "gcr.io/distroless/cc-debian12:nonroot (or static/scratch for a musl build)",
            ),
        ),
        "maven" | "gradle" | "sbt" => sdk(
            "a build tool and a full JDK",
            build_and_copy("jar", "a JRE image such as eclipse-temurin:21-jre"),
        ),
        "gcc" | "buildpack-deps" => sdk(
            "a C toolchain and development headers",
            build_and_copy("binaries", "a slim runtime image"),
        ),
        _ if JDK_IMAGES.contains(&repo) && !tag.contains("jre") => {
            let jre = if repo == "eclipse-temurin" && tag.contains("jdk") {
                format!("eclipse-temurin:{}", tag.replacen("jdk", "jre", 1))
            } else if repo == "eclipse-temurin" && tag != "latest" {
                format!("eclipse-temurin:{tag}-jre")
            } else {
                "eclipse-temurin:<version>-jre".into()
            };
            sdk(
                "a full JDK (compiler and tools) where a JRE runs the app",
                format!("run on a JRE image ({jre}), or build in a stage and copy the jar"),
            )
        }
        "sdk" if image.name.contains("dotnet") => sdk(
            "the .NET SDK",
            build_and_copy(
                "published output",
                "mcr.microsoft.com/dotnet/aspnet or dotnet/runtime",
            ),
        ),
        _ if repo.ends_with("-jdk")
            || repo.ends_with("-sdk")
            || repo == "jdk"
            || repo == "sdk"
            || tag_words.contains(&"jdk")
            || tag_words.contains(&"sdk") =>
        {
            sdk(
                "an SDK image",
                build_and_copy("built artifact", "a runtime-only image"),
            )
        }
        _ => None,
    }
}

/// Official images with a smaller variant of the same tag: the message and the suggestion.
fn slim_variant(image: &ImageRef) -> Option<(String, String)> {
    let repo = official_name(&image.name)?;
    let tag = image.tag.as_deref().unwrap_or("latest");
    let written = match &image.tag {
        Some(tag) => format!("{repo}:{tag}"),
        None => repo.to_string(),
    };
    let small = [
        "slim",
        "alpine",
        "distroless",
        "windowsservercore",
        "nanoserver",
    ];
    if small.iter().any(|s| tag.contains(s)) {
        return None;
    }
    let full = |suggestion: String| {
        Some((
            format!(
                "{written} is the full image; {suggestion} is the same runtime without the build tools"
            ),
            format!("FROM {suggestion}, or build in a full stage and copy the result into it"),
        ))
    };
    match repo {
        "python" | "ruby" | "perl" => full(format!("{repo}:{}", with_slim(tag, "slim", SlimOrder::BeforeCodename))),
        "node" => {
            let slim = with_slim(tag, "slim", SlimOrder::AfterCodename);
            let alpine = if tag == "latest" { "alpine".to_string() } else { format!("{}-alpine", strip_codename(tag)) };
            full(format!("node:{slim} (or node:{alpine})"))
        }
        "debian" => {
            let slim = if tag == "latest" { "stable-slim".to_string() } else { format!("{tag}-slim") };
            full(format!("debian:{slim}"))
        }
        "nginx" | "httpd" => {
            let alpine = if tag == "latest" { "alpine".to_string() } else { format!("{tag}-alpine") };
            Some((
                format!("{written} is Debian-based; {repo}:{alpine} serves the same in a fraction of the size"),
                format!("FROM {repo}:{alpine}"),
            ))
        }
        "ubuntu" => Some((
            format!("{written} has no slim variant and carries a full distribution"),
            "build on ubuntu if you must, but ship on a minimal base: debian:<codename>-slim, a distroless image (gcr.io/distroless/base-debian12) or a chiselled Ubuntu image".into(),
        )),
        _ => None,
    }
}

const CODENAMES: [&str; 6] = ["trixie", "bookworm", "bullseye", "buster", "jammy", "noble"];

#[derive(Clone, Copy)]
enum SlimOrder {
    /// python:3.12-slim-bookworm
    BeforeCodename,
    /// node:20-bookworm-slim
    AfterCodename,
}

/// The tag of the slim variant: `3.12` → `3.12-slim`, `latest` → `slim`, with a Debian
/// codename kept where that image puts it.
fn with_slim(tag: &str, slim: &str, order: SlimOrder) -> String {
    if tag == "latest" {
        return slim.to_string();
    }
    if let Some((version, codename)) = tag.rsplit_once('-')
        && CODENAMES.contains(&codename)
    {
        return match order {
            SlimOrder::BeforeCodename => format!("{version}-{slim}-{codename}"),
            SlimOrder::AfterCodename => format!("{version}-{codename}-{slim}"),
        };
    }
    if CODENAMES.contains(&tag) {
        return match order {
            SlimOrder::BeforeCodename => format!("{slim}-{tag}"),
            SlimOrder::AfterCodename => format!("{tag}-{slim}"),
        };
    }
    format!("{tag}-{slim}")
}

fn strip_codename(tag: &str) -> &str {
    match tag.rsplit_once('-') {
        Some((version, codename)) if CODENAMES.contains(&codename) => version,
        _ => tag,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variant(reference: &str) -> Option<String> {
        slim_variant(&ImageRef::parse(reference).unwrap()).map(|(_, fix)| fix)
    }

    #[test]
    fn slim_variant_tags() {
        assert_eq!(
            variant("python:3.12").as_deref(),
            Some("FROM python:3.12-slim, or build in a full stage and copy the result into it")
        );
        assert!(
            variant("python:3.12-bookworm")
                .unwrap()
                .contains("python:3.12-slim-bookworm")
        );
        assert!(variant("python").unwrap().contains("python:slim"));
        assert!(
            variant("docker.io/library/python:latest")
                .unwrap()
                .contains("python:slim")
        );
        assert!(
            variant("node:20-bookworm")
                .unwrap()
                .contains("node:20-bookworm-slim (or node:20-alpine)")
        );
        assert!(
            variant("debian:bookworm")
                .unwrap()
                .contains("debian:bookworm-slim")
        );
        assert!(variant("debian").unwrap().contains("debian:stable-slim"));
        assert!(variant("ubuntu:24.04").unwrap().contains("distroless"));
        assert_eq!(variant("python:3.12-slim"), None);
        assert_eq!(variant("node:20-alpine"), None);
        assert_eq!(variant("myorg/python:3.12"), None);
        assert_eq!(variant("registry.example.com/python:3.12"), None);
    }

    #[test]
    fn sdk_images() {
        let sdk = |r: &str| sdk_image(&ImageRef::parse(r).unwrap()).map(|s| s.fix);
        assert!(sdk("golang:1.22").unwrap().contains("distroless/static"));
        assert!(sdk("rust:1.79-slim").is_some());
        assert!(sdk("maven:3-eclipse-temurin-21").is_some());
        assert!(
            sdk("eclipse-temurin:21-jdk")
                .unwrap()
                .contains("eclipse-temurin:21-jre")
        );
        assert!(
            sdk("eclipse-temurin:21")
                .unwrap()
                .contains("eclipse-temurin:21-jre")
        );
        assert!(sdk("openjdk:17").is_some());
        assert!(
            sdk("mcr.microsoft.com/dotnet/sdk:8.0")
                .unwrap()
                .contains("aspnet")
        );
        assert_eq!(sdk("eclipse-temurin:21-jre"), None);
        assert_eq!(sdk("python:3.12"), None);
    }
}
