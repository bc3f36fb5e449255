//! The rules: stable ids, default levels, and one line on why each matters.

use super::Level;

/// A rule as it is documented (SARIF's `rules`, the text output's `why:` line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// stable id, `SL001`…
    pub id: &'static str,
    /// short kebab-case name
    pub name: &'static str,
    pub level: Level,
    /// what the rule finds, in a few words
    pub summary: &'static str,
    /// why it matters, in one line
    pub why: &'static str,
}

pub const ROOT_USER: &str = "SL001";
pub const NAMED_USER: &str = "SL002";
pub const FLOATING_TAG: &str = "SL003";
pub const NO_DIGEST: &str = "SL004";
pub const SLIM_VARIANT: &str = "SL005";
pub const SDK_FINAL_BASE: &str = "SL006";
pub const BUILD_TOOLS_IN_FINAL: &str = "SL007";
pub const ADD_URL: &str = "SL008";
pub const ADD_LOCAL: &str = "SL009";
pub const SECRET_IN_ENV_OR_ARG: &str = "SL010";
pub const NO_DOCKERIGNORE: &str = "SL011";
pub const DOCKERIGNORE_GAPS: &str = "SL012";
pub const RECOMMENDED_PACKAGES: &str = "SL013";
pub const PACKAGE_CACHE_LEFT: &str = "SL014";
pub const SUDO: &str = "SL015";
pub const PIPE_TO_SHELL: &str = "SL016";

pub static RULES: &[Rule] = &[
    Rule {
        id: ROOT_USER,
        name: "final-stage-runs-as-root",
        level: Level::Error,
        summary: "the final stage runs as root",
        why: "a process running as root in a container is root on the host's kernel, so one bug or escape is a host compromise",
    },
    Rule {
        id: NAMED_USER,
        name: "user-by-name",
        level: Level::Warning,
        summary: "USER names a user instead of a numeric uid",
        why: "Kubernetes' runAsNonRoot can only verify a numeric uid and refuses to start an image whose USER is a name",
    },
    Rule {
        id: FLOATING_TAG,
        name: "base-image-floating-tag",
        level: Level::Error,
        summary: "the base image is untagged or :latest",
        why: "latest moves: the same Dockerfile builds a different image tomorrow, with a new major version or a broken one",
    },
    Rule {
        id: NO_DIGEST,
        name: "base-image-not-pinned",
        level: Level::Warning,
        summary: "the base image is not pinned by digest",
        why: "a tag can be re-pushed, so without @sha256: the build trusts whoever controls the tag today",
    },
    Rule {
        id: SLIM_VARIANT,
        name: "base-image-has-slim-variant",
        level: Level::Info,
        summary: "a smaller variant of the base image exists",
        why: "the full variants carry compilers, headers and tools the app never uses: hundreds of MB and most of the CVEs",
    },
    Rule {
        id: SDK_FINAL_BASE,
        name: "sdk-base-in-final-stage",
        level: Level::Warning,
        summary: "the final image is built on an SDK or toolchain image",
        why: "an SDK image (golang, rust, maven, gradle, a JDK) ships the whole toolchain to production, where only the built artifact is needed",
    },
    Rule {
        id: BUILD_TOOLS_IN_FINAL,
        name: "build-tools-in-final-stage",
        level: Level::Warning,
        summary: "build tools are installed or run in the final stage",
        why: "compilers and package managers left in the image are size, attack surface and CVE noise; a build stage keeps them out",
    },
    Rule {
        id: ADD_URL,
        name: "add-url-without-checksum",
        level: Level::Warning,
        summary: "ADD downloads a URL without --checksum",
        why: "nothing checks what the URL serves, so a changed or compromised download goes into the image silently",
    },
    Rule {
        id: ADD_LOCAL,
        name: "add-local-file",
        level: Level::Warning,
        summary: "ADD of a local file or directory (use COPY)",
        why: "ADD unpacks anything that looks like an archive; COPY does only what it says, so it is the one to use for files",
    },
    Rule {
        id: SECRET_IN_ENV_OR_ARG,
        name: "secret-in-env-or-arg",
        level: Level::Error,
        summary: "a secret in ENV or ARG",
        why: "ENV values are stored in the image config and ARG values in its history: anyone who can pull the image can read them",
    },
    Rule {
        id: NO_DOCKERIGNORE,
        name: "no-dockerignore",
        level: Level::Warning,
        summary: "the build context has no .dockerignore",
        why: "without one, everything in the context (.git, .env, keys, build output) is sent to the builder and can end up in a layer",
    },
    Rule {
        id: DOCKERIGNORE_GAPS,
        name: "dockerignore-incomplete",
        level: Level::Warning,
        summary: ".dockerignore lets secrets or build output into the context",
        why: "a `COPY . .` copies whatever the .dockerignore lets through: the git history, .env files, private keys, local builds",
    },
    Rule {
        id: RECOMMENDED_PACKAGES,
        name: "installs-recommended-packages",
        level: Level::Warning,
        summary: "the package manager installs recommended packages",
        why: "recommended and weak dependencies are optional extras, often tens of MB, that nothing asked for",
    },
    Rule {
        id: PACKAGE_CACHE_LEFT,
        name: "package-cache-left",
        level: Level::Warning,
        summary: "package lists or caches stay in the layer",
        why: "package indexes and caches are only needed while installing; left in the layer they are dead weight in every pull",
    },
    Rule {
        id: SUDO,
        name: "sudo-in-run",
        level: Level::Error,
        summary: "sudo in RUN",
        why: "sudo needs a setuid binary and sudoers rules in the image, a ready path to root for any process in the container",
    },
    Rule {
        id: PIPE_TO_SHELL,
        name: "pipe-to-shell",
        level: Level::Error,
        summary: "a download is piped into a shell",
        why: "the script runs unverified, as root, from whatever the server sends at build time; a partial download runs half a script",
    },
];

/// The rule with this id (any letter case).
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id.eq_ignore_ascii_case(id))
}
