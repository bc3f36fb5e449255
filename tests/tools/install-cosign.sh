#!/bin/sh
# Put cosign (the reference implementation of the signature format slim writes) into DIR,
# from Debian 13's own package: bookworm's skopeo and podman are built with sigstore
# disabled ("Debian-local change"), and cosign is a static Go program that runs here.
# The download is checked the way apt checks it: the suite's InRelease against Debian's
# archive keyring, the package index against InRelease, the .deb against the index.
# usage: tests/tools/install-cosign.sh DIR   (then DIR/cosign)
set -eu
dir=$1
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=trixie
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch() { curl -fsS --retry 3 --max-time 300 -o "$2" "$mirror/$1"; }

fetch "dists/$suite/InRelease" "$work/InRelease"
gpgv --keyring /usr/share/keyrings/debian-archive-keyring.gpg "$work/InRelease" 2>/dev/null ||
    { echo "install-cosign: $suite's InRelease does not verify" >&2; exit 1; }
index=main/binary-amd64/Packages.xz
index_sha=$(awk -v f="$index" '/^SHA256:/{s=1;next} /^[A-Za-z]/{s=0} s&&$3==f{print $1}' "$work/InRelease")
fetch "dists/$suite/$index" "$work/Packages.xz"
echo "$index_sha  $work/Packages.xz" | sha256sum -c --quiet

# The cosign stanza: its file and checksum.
xz -dc "$work/Packages.xz" | awk '
    /^Package: /{p=($2=="cosign")}
    p&&/^Filename: /{print "file=" $2}
    p&&/^SHA256: /{print "sha=" $2}' >"$work/stanza"
file=$(sed -n 's/^file=//p' "$work/stanza")
sha=$(sed -n 's/^sha=//p' "$work/stanza")
[ -n "$file" ] || { echo "install-cosign: no cosign package in $suite" >&2; exit 1; }
fetch "$file" "$work/cosign.deb"
echo "$sha  $work/cosign.deb" | sha256sum -c --quiet

dpkg-deb -x "$work/cosign.deb" "$work/root"
mkdir -p "$dir"
install -m 0755 "$work/root/usr/bin/cosign" "$dir/cosign"
"$dir/cosign" version 2>/dev/null | sed -n 's/^GitVersion: */install-cosign: cosign /p'
