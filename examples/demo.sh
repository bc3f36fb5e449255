#!/bin/sh
# The quick start: build slim, build a demo nginx image locally (no registry needed), and slim it.
set -eu
cd "$(dirname "$0")/.."

cargo build --release --bins
# Local base images, built once from this machine's Debian mirror (debootstrap needs root).
if [ "$(id -u)" = 0 ]; then sh tests/fixtures/build-bases.sh; else sudo sh tests/fixtures/build-bases.sh; fi
docker build -q -t slim-demo/nginx-static:1 --build-arg BASE=slim-fixture/debian:bookworm examples/nginx-static >/dev/null
exec ./target/x86_64-unknown-linux-gnu/release/slim slim-demo/nginx-static:1 --http-probe-cmd /style.css --force
