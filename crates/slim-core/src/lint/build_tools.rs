//! SL007: build tools in the final image, either installed there (compilers, make) or run
//! there (package managers building the app) without a build stage to keep them out.

use std::collections::BTreeSet;

use super::Findings;
use super::packages::{PackageCommand, package_command};
use super::rules::BUILD_TOOLS_IN_FINAL;
use super::shell;
use crate::dockerfile::{Dockerfile, InstructionKind};

/// Packages that are compilers or build tools, in the main distributions' names.
const TOOL_PACKAGES: [&str; 24] = [
    "gcc",
    "g++",
    "gcc-c++",
    "clang",
    "llvm",
    "make",
    "cmake",
    "ninja-build",
    "build-essential",
    "build-base",
    "alpine-sdk",
    "gfortran",
    "autoconf",
    "automake",
    "libtool",
    "pkg-config",
    "cargo",
    "rustc",
    "golang",
    "golang-go",
    "go",
    "maven",
    "gradle",
    "default-jdk",
];

/// Programs that compile or link: running one means the toolchain is in this stage.
const COMPILERS: [&str; 12] = [
    "gcc", "g++", "cc", "c++", "clang", "clang++", "make", "cmake", "ninja", "rustc", "javac",
    "gfortran",
];

pub(super) fn check(dockerfile: &Dockerfile, out: &mut Findings) {
    let lineage = dockerfile.final_lineage();
    // With `COPY --from` the final stage takes artifacts from a build stage: installing
    // runtime dependencies there (pip install, npm ci) is then expected.
    let single_stage = !lineage
        .iter()
        .flat_map(|stage| stage.instructions.iter())
        .any(|i| i.kind == InstructionKind::Copy && i.flag("from").is_some());

    for instruction in lineage.iter().flat_map(|stage| stage.instructions.iter()) {
        if instruction.kind != InstructionKind::Run {
            continue;
        }
        let commands = shell::run_commands(instruction);
        // Tools installed and removed again in the same RUN never reach a layer.
        let removed_again = commands
            .iter()
            .any(|c| matches!(package_command(c), Some(PackageCommand::Remove { .. })));
        let mut installed = BTreeSet::new();
        let mut ran = BTreeSet::new();
        for command in &commands {
            if let Some(PackageCommand::Install { packages, .. }) = package_command(command)
                && !removed_again
            {
                installed.extend(packages.into_iter().filter(|p| is_tool_package(p)));
            }
            if let Some((name, args)) = command.program() {
                if COMPILERS.contains(&name) {
                    if !removed_again {
                        ran.insert(name.to_string());
                    }
                } else if single_stage && let Some(build) = package_manager_build(name, args) {
                    ran.insert(build);
                }
            }
        }
        if installed.is_empty() && ran.is_empty() {
            continue;
        }
        let mut parts = Vec::new();
        if !installed.is_empty() {
            parts.push(format!("installs {}", join(&installed)));
        }
        if !ran.is_empty() {
            parts.push(format!("runs {}", join(&ran)));
        }
        let place = if single_stage {
            "a single-stage build"
        } else {
            "the final stage"
        };
        out.add(
            BUILD_TOOLS_IN_FINAL,
            instruction.lines,
            format!("this RUN {} in {place}: the tools stay in the shipped image", parts.join(" and ")),
            Some(
                "do the build in a stage of its own (FROM … AS build) and COPY --from=build only what the app needs at run time"
                    .into(),
            ),
        );
    }
}

fn is_tool_package(package: &str) -> bool {
    TOOL_PACKAGES.contains(&package)
        || (package.starts_with("openjdk-") && package.ends_with("-jdk"))
        || (package.starts_with("java-") && package.ends_with("-devel"))
}

/// `pip install`, `npm ci`, `mvn package`…: a package manager building or fetching the app.
fn package_manager_build(program: &str, args: &[String]) -> Option<String> {
    let sub = shell::subcommand(args, &[]);
    let named = |what: &str| Some(format!("{program} {what}"));
    match (program, sub) {
        ("pip" | "pip3" | "pipenv" | "poetry", Some(sub @ ("install" | "sync"))) => named(sub),
        ("python" | "python3", _) => {
            let at = args.iter().position(|a| a == "-m")?;
            let module = args.get(at + 1)?;
            (module == "pip" && args.get(at + 2).is_some_and(|a| a == "install"))
                .then(|| format!("{program} -m pip install"))
        }
        ("npm", Some(sub @ ("install" | "i" | "ci"))) => named(sub),
        ("yarn", None) => Some("yarn".into()),
        ("yarn" | "pnpm" | "bun", Some(sub @ ("install" | "i"))) => named(sub),
        ("mvn" | "mvnw" | "gradle" | "gradlew" | "sbt", _) => Some(program.to_string()),
        ("cargo", Some(sub @ ("build" | "install"))) => named(sub),
        ("go", Some(sub @ ("build" | "install" | "get"))) => named(sub),
        _ => None,
    }
}

fn join(items: &BTreeSet<String>) -> String {
    items.iter().cloned().collect::<Vec<_>>().join(", ")
}
