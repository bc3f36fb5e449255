#!/bin/sh
# Where probes come from, what it costs: the same web server slimmed with N extra HTTP probes,
# R times with the probes relayed from inside the app's network namespace (the default) and
# R times through ports published on 127.0.0.1 (--probe-from host). Prints the mean analyze
# and verify stage times of each, and the inside/host ratio.
# SERVER=busybox (default: busybox httpd, which closes every connection after one answer, so
# every probe opens a new one) or SERVER=nginx (Debian's nginx, which keeps connections open).
# usage: [SERVER=nginx] bench/probe-from.sh [N] [R]   (defaults 40 and 3; needs the fixtures)
set -eu
probes=${1:-40} runs=${2:-3}
slim=${SLIM:-$(dirname "$0")/../target/x86_64-unknown-linux-gnu/release/slim}
[ -x "$slim" ] || { echo "build slim first: cargo build --release --bins" >&2; exit 1; }
image=slim-bench/probe-from:1
work=$(mktemp -d)
trap 'rm -rf "$work"; docker image rm -f "$image" slim-bench/probe-from.slim:1 >/dev/null 2>&1 || true' EXIT
mkdir -p "$work/www"
set --
i=0
while [ "$i" -lt "$probes" ]; do
    echo "page $i" >"$work/www/p$i.html"
    set -- "$@" --http-probe-cmd "/p$i.html"
    i=$((i + 1))
done
case ${SERVER:-busybox} in
busybox) printf 'FROM slim-fixture/busybox:static\nCOPY www /www\nEXPOSE 8080\nCMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]\n' ;;
nginx) printf 'FROM slim-fixture/debian:bookworm\nCOPY www /var/www/html\nEXPOSE 80\nCMD ["nginx", "-g", "daemon off;"]\n' ;;
*) echo "SERVER is busybox or nginx" >&2; exit 2 ;;
esac >"$work/Dockerfile"
docker build -q -t "$image" "$work" >/dev/null 2>&1
stage() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print([s['seconds'] for s in r['stages'] if s['stage']==sys.argv[2]][0])" "$1" "$2"; }
for from in inside host; do
    analyze=0 verify=0 n=0
    while [ "$n" -lt "$runs" ]; do
        "$slim" build "$image" --force --quiet --probe-from "$from" --report "$work/r.json" "$@" >/dev/null
        analyze=$(python3 -c "print($analyze + $(stage "$work/r.json" analyze))")
        verify=$(python3 -c "print($verify + $(stage "$work/r.json" verify))")
        n=$((n + 1))
    done
    eval "${from}_analyze=\$(python3 -c 'print(round($analyze / $runs, 2))')"
    eval "${from}_verify=\$(python3 -c 'print(round($verify / $runs, 2))')"
done
echo "${SERVER:-busybox}: $((probes + 1)) HTTP requests per run, $runs runs each:"
echo "  inside: analyze ${inside_analyze}s · verify ${inside_verify}s"
echo "  host:   analyze ${host_analyze}s · verify ${host_verify}s"
python3 -c "print('  inside/host: analyze %.2fx · verify %.2fx' % ($inside_analyze / $host_analyze, $inside_verify / $host_verify))"
