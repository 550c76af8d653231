#!/usr/bin/env bash
# Held-out multitrack songs with drums for bench_arrangements (issue 25's held-out check): OpenMSX, the
# 31 General MIDI songs of OpenTTD's free music set (GPL-2.0, Debian package openttd-openmsx; 30 have drums,
# 4-14 tracks, 2-10 programs, some with tempo changes).  Nothing is committed: this fetches the package from
# the Debian archive and unpacks its MIDI files into DEST (default: bench/heldout/openmsx).
set -euo pipefail
dest="${1:-$(dirname "$0")/heldout/openmsx}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -q openttd-openmsx >/dev/null 2>&1) || {
    echo "fetch_heldout: cannot download openttd-openmsx from the Debian archive (offline?)" >&2; exit 1; }
dpkg-deb -x "$work"/openttd-openmsx_*.deb "$work/x"
mkdir -p "$dest"
find "$work/x" -name '*.mid' -exec cp {} "$dest/" \;
echo "fetch_heldout: $(ls "$dest" | wc -l) MIDI files in $dest"
