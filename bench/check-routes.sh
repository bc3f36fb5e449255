#!/bin/sh
# Run an image and its slim version side by side and compare their HTTP answers route by route.
# usage: bench/check-routes.sh ORIGINAL_IMAGE SLIM_IMAGE ROUTES_FILE PORT
#   ROUTES_FILE: one route a line, "probe METHOD PATH" or "check METHOD PATH" (both are
#   checked here; blank lines and lines starting with # are skipped).
#   PORT: the container port the app listens on; it is published on 127.0.0.1 only.
# Prints "PASS|FAIL METHOD PATH  STATUS-ORIG STATUS-SLIM" per route (a FAIL shows where the
# bodies first differ), removes both containers on every path, and exits 1 if a route failed,
# 2 on bad usage or when a container does not start or answer within CHECK_TIMEOUT seconds
# (default 90). Both images must be in the engine already (nothing is pulled).
# SLIM_RUN_OPTS: more `docker run` options for the slim image only, e.g.
#   SLIM_RUN_OPTS="--security-opt seccomp=profile.json"
set -u

usage() {
    echo "usage: $0 ORIGINAL_IMAGE SLIM_IMAGE ROUTES_FILE PORT" >&2
    exit 2
}
[ $# -eq 4 ] || usage
orig_image=$1 slim_image=$2 routes=$3 port=$4
[ -r "$routes" ] || { echo "$0: cannot read $routes" >&2; exit 2; }
case $port in '' | *[!0-9]*) usage ;; esac
timeout=${CHECK_TIMEOUT:-90}

work=$(mktemp -d) || exit 2
containers=
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    for c in $containers; do
        docker rm -f "$c" >/dev/null 2>&1
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start IMAGE [OPTIONS...]: run the image detached, set $cid and record it for cleanup
start() {
    image=$1
    shift
    cid=$(docker run -d --pull never -p "127.0.0.1::$port" "$@" "$image") || {
        echo "$0: cannot start $1" >&2
        exit 2
    }
    containers="$containers $cid"
}

# wait_ready CID LABEL: until the app answers HTTP at all (any status) on the published port,
# then set $url to it; exit with the container's last log lines if it stops or never answers
wait_ready() {
    waited=0
    while :; do
        hp=$(docker port "$1" "$port/tcp" 2>/dev/null | sed -n '1s/.*://p')
        if [ -n "$hp" ]; then
            url=http://127.0.0.1:$hp
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url/" </dev/null) || :
            [ -n "$code" ] && [ "$code" != 000 ] && return 0
        fi
        if [ "$(docker inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" != true ]; then
            echo "$0: the $2 container stopped before answering; its last log lines:" >&2
            docker logs --tail 20 "$1" >&2 2>&1
            exit 2
        fi
        if [ "$waited" -ge "$timeout" ]; then
            echo "$0: the $2 container did not answer on port $port within ${timeout}s; its last log lines:" >&2
            docker logs --tail 20 "$1" >&2 2>&1
            exit 2
        fi
        sleep 1
        waited=$((waited + 1))
    done
}

# fetch METHOD URL OUT: prints the status (000 when there is no answer), body to OUT
fetch() {
    if [ "$1" = HEAD ]; then
        curl -s -g -I -o "$3" -w '%{http_code}' --max-time 30 "$2" </dev/null
    else
        curl -s -g -X "$1" -o "$3" -w '%{http_code}' --max-time 30 "$2" </dev/null
    fi
    [ -f "$3" ] || : >"$3"
}

# excerpt FILE OFFSET: up to 32 bytes from OFFSET (1-based), unprintable bytes as dots
excerpt() {
    dd if="$1" bs=1 skip=$(($2 - 1)) count=32 2>/dev/null | tr -c '[:print:]' '.'
}

# first_difference A B: the 1-based offset of the first byte where A and B differ
first_difference() {
    out=$(cmp "$1" "$2" 2>&1)
    case $out in
        *'EOF on '*)
            a=$(wc -c <"$1") b=$(wc -c <"$2")
            if [ "$a" -lt "$b" ]; then echo $((a + 1)); else echo $((b + 1)); fi
            ;;
        *) echo "$out" | sed -n 's/.* byte \([0-9]*\).*/\1/p' ;;
    esac
}

start "$orig_image"
cid_orig=$cid
# shellcheck disable=SC2086 # one word per option
start "$slim_image" ${SLIM_RUN_OPTS:-}
cid_slim=$cid
wait_ready "$cid_orig" original
orig_url=$url
wait_ready "$cid_slim" slim
slim_url=$url

total=0 failed=0
while read -r kind method path rest; do
    case $kind in '' | '#'*) continue ;; probe | check) ;; *)
        echo "$0: skipping unknown route line: $kind $method $path $rest" >&2
        continue
        ;;
    esac
    total=$((total + 1))
    so=$(fetch "$method" "$orig_url$path" "$work/orig")
    ss=$(fetch "$method" "$slim_url$path" "$work/slim")
    if [ "$so" = "$ss" ] && cmp -s "$work/orig" "$work/slim"; then
        echo "PASS $method $path  $so $ss"
        continue
    fi
    failed=$((failed + 1))
    echo "FAIL $method $path  $so $ss"
    if ! cmp -s "$work/orig" "$work/slim"; then
        at=$(first_difference "$work/orig" "$work/slim")
        printf '     body differs at byte %s (sizes %s/%s): orig "%s" slim "%s"\n' "$at" \
            "$(wc -c <"$work/orig" | tr -d ' ')" "$(wc -c <"$work/slim" | tr -d ' ')" \
            "$(excerpt "$work/orig" "$at")" "$(excerpt "$work/slim" "$at")"
    fi
done <"$routes"

echo "$((total - failed)) of $total routes pass"
if [ "$failed" -gt 0 ]; then
    echo "--- slim container, last 20 log lines:" >&2
    docker logs --tail 20 "$cid_slim" >&2 2>&1
    exit 1
fi
exit 0
