#!/bin/sh
# Sensor overhead: the same workload run N times inside one container, untraced, then under
# `slim-sensor trace` (file syscalls only, what every build does), then under
# `slim-sensor trace --all-syscalls` (every syscall, what --seccomp-profile needs), so
# container start-up does not blur the ratios.
# usage: bench/sensor-overhead.sh IMAGE N -- COMMAND...   (needs bash in the image)
set -eu
image=$1 runs=$2
shift 3
sensor=${SLIM_SENSOR:-$(dirname "$0")/../target/x86_64-unknown-linux-gnu/release/slim-sensor}
[ -x "$sensor" ] || { echo "build the sensor first: cargo build --release --bins" >&2; exit 1; }
cmd=$*
docker run --rm -v "$(realpath "$sensor")":/slim-sensor:ro --entrypoint /bin/bash "$image" -c "
    now() { date +%s%N; }
    $cmd >/dev/null 2>&1   # warm the page cache
    t0=\$(now); for i in \$(seq $runs); do $cmd >/dev/null 2>&1; done; t1=\$(now)
    for i in \$(seq $runs); do /slim-sensor trace --report /tmp/r.json -- $cmd >/dev/null 2>&1; done; t2=\$(now)
    for i in \$(seq $runs); do /slim-sensor trace --all-syscalls --report /tmp/r.json -- $cmd >/dev/null 2>&1; done; t3=\$(now)
    plain=\$(( (t1 - t0) / $runs / 1000000 )); files=\$(( (t2 - t1) / $runs / 1000000 )); all=\$(( (t3 - t2) / $runs / 1000000 ))
    ratio() { awk \"BEGIN{printf \\\"%.2f\\\", \$1/\$2}\"; }
    echo \"untraced \${plain} ms/run · file syscalls \${files} ms/run (\$(ratio \$files \$plain)x) · all syscalls \${all} ms/run (\$(ratio \$all \$plain)x, \$(ratio \$all \$files)x the file-only mode)\"
"
