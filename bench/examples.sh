#!/bin/sh
# Build every example app on the local Debian fixture, slim it with the release binary, and
# print a Markdown table of fat size, slim size, ratio and time (the README's table).
# usage: bench/examples.sh [APP...]
set -eu
cd "$(dirname "$0")/.."
slim=${SLIM:-target/x86_64-unknown-linux-gnu/release/slim}
[ -x "$slim" ] || { echo "build slim first: cargo build --release --bins" >&2; exit 1; }
sh tests/fixtures/build-bases.sh >/dev/null
# reports land in $REPORTS when set (kept), else in a temporary directory
if [ -n "${REPORTS:-}" ]; then out=$REPORTS; mkdir -p "$out"; else out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; fi

# slim one app with the probes its test uses
slim_app() {
    app=$1 image=$2 report=$3
    case $app in
        python-api) set -- --http-probe-cmd /items --http-probe-cmd '/restocked?tz=Asia/Tokyo' ;;
        node-http) set -- --http-probe-cmd '/quote?n=1' --http-probe-cmd '/digest?text=slim' ;;
        java-http) set -- --http-probe-cmd /digest --http-probe-cmd /tokyo ;;
        nginx-static) set -- --http-probe-cmd /style.css ;;
        redis-server) set -- --exec 'redis-cli ping' ;;
        *) set -- ;;
    esac
    "$slim" "$image" --force --quiet --report "$report" "$@"
}

apps=${*:-"python-script python-api nginx-static node-http java-http ruby-script perl-script redis-server shell-pipeline tls-client"}
echo "| app | fat | slim | ratio | files kept | slim time | verify |"
echo "|---|---|---|---|---|---|---|"
for app in $apps; do
    image=slim-bench/$app:1
    docker build -q -t "$image" --build-arg BASE=slim-fixture/debian:bookworm "examples/$app" >/dev/null 2>&1
    start=$(date +%s%N)
    slim_app "$app" "$image" "$out/$app.json" >/dev/null 2>"$out/$app.err" || true
    end=$(date +%s%N)
    python3 - "$out/$app.json" "$app" "$(( (end - start) / 1000000 ))" <<'PY'
import json, sys
path, app, ms = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    r = json.load(open(path))
except OSError:
    print(f"| {app} | – | – | – | – | – | failed |"); sys.exit()
mb = lambda b: f"{b / 1e6:.1f} MB"
v = r.get("verification") or {"checks": []}
ok = all(c["passed"] for c in v["checks"])
print(f"| {app} | {mb(r['source']['size'])} | {mb(r['output']['size'])} | {r['reduction']:.1f}x | "
      f"{r['output']['files']} of {r['source']['files']} | {ms / 1000:.1f} s | {'PASS' if ok else 'FAIL'} ({len(v['checks'])}) |")
PY
done
