# slim as an image: its three static binaries on scratch, run beside the engine's socket.
#
#   cargo build --release && docker build -t slim .
#   docker run --rm --group-add "$(stat -c %g /var/run/docker.sock)" \
#     -v /var/run/docker.sock:/var/run/docker.sock -v "$PWD:/work" -w /work slim app:1
#
# No --network host: slim probes the app from a container in the app's own network, through
# the engine. --group-add: slim runs as 65532, and the socket's group lets it in.
# CERTS_FROM gives the CA bundle slim uses for registries over TLS; BIN_DIR other binaries.

ARG CERTS_FROM=debian:bookworm-slim

FROM ${CERTS_FROM} AS certs
RUN [ -f /etc/ssl/certs/ca-certificates.crt ] \
    || (apt-get update && apt-get install -y --no-install-recommends ca-certificates) \
    && mkdir -p /out/tmp && chmod 1777 /out/tmp

FROM scratch
ARG BIN_DIR=target/x86_64-unknown-linux-gnu/release
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=certs --chown=65532:65532 /out/tmp /tmp
COPY ${BIN_DIR}/slim ${BIN_DIR}/slim-sensor ${BIN_DIR}/slim-switch /usr/local/bin/
# HOME and the state directory in /tmp: scratch has no home, and run records must be
# writable by the user.
ENV HOME=/tmp TMPDIR=/tmp SLIM_STATE_DIR=/tmp/slim-state
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["/usr/local/bin/slim"]
