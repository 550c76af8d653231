#!/usr/bin/env bash
# Writes installer/constraints.txt from the installer's build environment and the test environment
# (.venv): one pinned version per package, the build's where both have one.  Run after a deliberate
# upgrade (scripts/build_installer.sh --unpinned; scripts/install.sh --test with MUSICGPT_CONSTRAINTS
# unset), then commit the file once the frozen self-test and the suite pass.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_PY="${MUSICGPT_BUILD_VENV:-build/installer-venv}/bin/python"
freeze() { "$1" -m pip freeze --exclude-editable 2>/dev/null | grep -v '^musicgpt' || true; }
python3 - "$(freeze "$BUILD_PY")" "$(freeze .venv/bin/python)" <<'PY'
import re
import sys

def pins(text):
    out = {}
    for line in text.splitlines():
        if "==" in line:
            name, version = line.strip().split("==", 1)
            out[re.sub(r"[-_.]+", "-", name).lower()] = (name, version)
    return out

build, test = pins(sys.argv[1]), pins(sys.argv[2])
merged = {**test, **build}
for key in set(build) & set(test):
    if build[key][1] != test[key][1]:
        print(f"note: {key} is {build[key][1]} in the build and {test[key][1]} in the tests; pinned the build's")
header = open("installer/constraints.txt").read().split("\n")
comments = [line for line in header if line.startswith("#")]
with open("installer/constraints.txt", "w") as f:
    f.write("\n".join(comments + [f"{n}=={v}" for _, (n, v) in sorted(merged.items())]) + "\n")
PY
echo "wrote installer/constraints.txt"
