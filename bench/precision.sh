#!/bin/sh
# Precision: how close slim's image comes to what the app really needs, per example with a
# `routes` file. For each app:
#   exact need  = slim with EVERY route probed and nothing kept beyond the trace (no profiles,
#                 no import closure, no app content, no certificates): the files the app read
#                 on a run that exercised every route, plus their ELF closure;
#   slim        = slim with its default rules and only the `probe` routes;
#   routes      = every route (probed or not) compared on the original and the slim image
#                 (bench/check-routes.sh).
# Prints a Markdown table: exact need, slim, the ratio slim/exact, routes passing, and the
# bytes slim kept beyond the trace by rule.
# With SECCOMP=1, slim also writes a seccomp profile from the probed routes and every route
# is checked a second time with the slim image under that profile (one more column).
# usage: bench/precision.sh [APP...]   (default: every example with a routes file)
set -eu
cd "$(dirname "$0")/.."
slim=${SLIM:-target/x86_64-unknown-linux-gnu/release/slim}
[ -x "$slim" ] || { echo "build slim first: cargo build --release --bins" >&2; exit 1; }
sh tests/fixtures/build-bases.sh >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

apps=${*:-$(for f in examples/*/routes; do basename "$(dirname "$f")"; done)}
seccomp=${SECCOMP:-0}
if [ "$seccomp" = 1 ]; then
    echo "| app | exact need | slim | slim / exact | routes passing | under the seccomp profile | kept beyond the trace |"
    echo "|---|---|---|---|---|---|---|"
else
    echo "| app | exact need | slim | slim / exact | routes passing | kept beyond the trace |"
    echo "|---|---|---|---|---|---|"
fi
for app in $apps; do
    routes=examples/$app/routes
    image=slim-bench/$app:1
    port=$(sed -n 's/^EXPOSE \([0-9]*\).*/\1/p' "examples/$app/Dockerfile" | head -n 1)
    docker build -q -t "$image" --build-arg BASE=slim-fixture/debian:bookworm "examples/$app" >/dev/null 2>&1
    all_probes=$(awk '$1 == "probe" || $1 == "check" { printf " --http-probe-cmd %s:%s", $2, $3 }' "$routes")
    some_probes=$(awk '$1 == "probe" { printf " --http-probe-cmd %s:%s", $2, $3 }' "$routes")
    # shellcheck disable=SC2086 # one word per flag
    "$slim" build "$image" --tag "slim-bench/$app.exact:1" --force --quiet --report "$out/$app.exact.json" \
        --include-imports=false --include-app-dir=false --include-cert-all=false \
        --skip-profile all $all_probes >/dev/null 2>"$out/$app.exact.err" || {
        echo "| $app | failed: $(tail -n 1 "$out/$app.exact.err") | | | | |"; continue; }
    profile_flag=
    [ "$seccomp" = 1 ] && profile_flag="--seccomp-profile $out/$app.seccomp.json"
    # shellcheck disable=SC2086
    "$slim" build "$image" --tag "slim-bench/$app.slim:1" --force --quiet --report "$out/$app.json" \
        $some_probes $profile_flag >/dev/null 2>"$out/$app.err" || {
        echo "| $app | | failed: $(tail -n 1 "$out/$app.err") | | | |"; continue; }
    total=$(grep -c -E '^(probe|check) ' "$routes")
    passed=$(sh bench/check-routes.sh "$image" "slim-bench/$app.slim:1" "$routes" "$port" 2>/dev/null |
        grep -c '^PASS' || true)
    under=
    if [ "$seccomp" = 1 ]; then
        under=$(SLIM_RUN_OPTS="--security-opt seccomp=$out/$app.seccomp.json" \
            sh bench/check-routes.sh "$image" "slim-bench/$app.slim:1" "$routes" "$port" 2>/dev/null |
            grep -c '^PASS' || true)
        under="$under/$total"
    fi
    python3 - "$out/$app.exact.json" "$out/$app.json" "$app" "$passed/$total" "$under" <<'PY'
import json, sys
exact, slim = (json.load(open(p)) for p in sys.argv[1:3])
app, routes, under = sys.argv[3], sys.argv[4], sys.argv[5]
mb = lambda b: f"{b / 1e6:.1f} MB"
need, got = exact["output"]["size"], slim["output"]["size"]
trace = {"traced", "elf-needed", "interp", "symlink-hop", "shebang", "parent", "nss", "ld-config", "user"}
beyond = [t for t in slim["kept_by_rule"] if t["rule"] not in trace and t["bytes"] > 0]
detail = ", ".join(f"{t['rule']} {mb(t['bytes'])}" for t in beyond) or "nothing"
seccomp = f" {under} |" if under else ""
print(f"| {app} | {mb(need)} | {mb(got)} | {got / need:.2f}x | {routes} |{seccomp} {detail} |")
PY
done
