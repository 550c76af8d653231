#!/usr/bin/env bash
# One sha256 over the installer's build inputs: the spec, the dependencies (pyproject.toml), the
# build script and installer/ (hooks, entry scripts).  .ci/run rebuilds the bundle only when this
# differs from installer/last_passed.sha256, which a passing frozen self-test records.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  printf '%s\n' build_installer.spec pyproject.toml scripts/build_installer.sh
  find installer -type f ! -name last_passed.sha256 ! -path '*/__pycache__/*' | LC_ALL=C sort
} | while read -r f; do printf '%s  %s\n' "$(sha256sum < "$f" | cut -d' ' -f1)" "$f"; done \
  | sha256sum | cut -d' ' -f1
