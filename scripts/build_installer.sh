#!/usr/bin/env bash
# Builds the one-folder bundle dist/musicgpt-gui/ (windowed `musicgpt-gui` + console `musicgpt`)
# from build_installer.spec, in a virtual environment WITHOUT torch: with torch present
# PyInstaller's keras hook dies (SIGSEGV), and the app never imports bertviz's Python, so
# bertviz is installed --no-deps (only its head_view.js/model_view.js are bundled).
#
# Every package version comes from installer/constraints.txt, so the same commit builds the same
# bundle; a new release of a dependency changes it only when that file is updated on purpose.
#
# Usage: scripts/build_installer.sh [--fresh] [--self-test] [--unpinned]
#   --fresh      recreate the build environment ($MUSICGPT_BUILD_VENV, default build/installer-venv)
#   --self-test  run the frozen `musicgpt self-test` afterwards (exit non-zero if a step fails)
#   --unpinned   ignore installer/constraints.txt (to upgrade: then installer/refresh_constraints.sh)
# On Linux it also writes dist/musicgpt-gui-<version>-linux-<arch>.tar.gz.
set -euo pipefail
cd "$(dirname "$0")/.."

FRESH=0; SELFTEST=0; PINS=(-c installer/constraints.txt)
for arg in "$@"; do
  case "$arg" in
    --fresh) FRESH=1 ;;
    --self-test) SELFTEST=1 ;;
    --unpinned) PINS=() ;;
    *) echo "build_installer.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

PYTHON="${PYTHON:-python3}"
VENV="${MUSICGPT_BUILD_VENV:-build/installer-venv}"
CLEAN=()
[ "$FRESH" -eq 1 ] && { rm -rf "$VENV"; CLEAN=(--clean); }  # --clean also drops PyInstaller's cache
[ -d "$VENV" ] || "$PYTHON" -m venv "$VENV"
PY="$VENV/bin/python"
[ -x "$VENV/Scripts/python.exe" ] && PY="$VENV/Scripts/python.exe"  # Windows (Git Bash)
PIP="$PY -m pip"
PIN_INSTALL="$PIP install ${PINS[@]+"${PINS[@]}"}"

echo "== build environment: $VENV"
$PIN_INSTALL -q --upgrade pip wheel "setuptools<81"
# XStatic-RequireJS is an sdist whose setup imports pkg_resources, which new setuptools lacks.
$PIN_INSTALL -q --no-build-isolation "XStatic-RequireJS>=2.1"
# The app's dependencies from pyproject.toml, except bertviz (its requirements pull torch) and
# gpt-2-simple (it requires "tensorflow"); on Linux the CPU-only TensorFlow wheel replaces the CUDA
# one (no CUDA libraries are bundled anyway, and it is about 400 MB smaller).
SWAP=(); [ "$(uname -s)" = "Linux" ] && SWAP=(--swap tensorflow=tensorflow-cpu)
DEPS=()  # a read loop, not mapfile: macOS ships bash 3.2
while IFS= read -r req; do DEPS+=("$req"); done \
  < <($PY installer/app_requirements.py pyproject.toml --without bertviz --without gpt-2-simple ${SWAP[@]+"${SWAP[@]}"})
# gpt-2-simple's own requirements, less tensorflow.
$PIN_INSTALL -q "${DEPS[@]}" regex requests tqdm numpy toposort "pyinstaller>=6.5"
$PIN_INSTALL -q --no-deps "$($PY installer/app_requirements.py pyproject.toml --only bertviz)" \
  "$($PY installer/app_requirements.py pyproject.toml --only gpt-2-simple)" "tinysoundfont>=0.3.7"
if $PY -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('torch') is None)"; then
  echo "build_installer.sh: torch is installed in $VENV; PyInstaller's keras hook crashes with it (use --fresh)" >&2
  exit 1
fi

echo "== PyInstaller"
START=$(date +%s)
$PY -m PyInstaller --noconfirm ${CLEAN[@]+"${CLEAN[@]}"} --log-level WARN \
  --distpath dist --workpath build/pyinstaller build_installer.spec
echo "build time: $(( $(date +%s) - START )) s"

BUNDLE=dist/musicgpt-gui
ARCHIVE=""
if [ "$(uname -s)" = "Linux" ]; then
  VERSION=$($PY -c "import musicgpt_gui; print(musicgpt_gui.__version__)")
  ARCHIVE="dist/musicgpt-gui-$VERSION-linux-$(uname -m).tar.gz"
  tar -C dist -czf "$ARCHIVE" musicgpt-gui
fi

echo "== sizes"
echo "folder:  $(du -sh "$BUNDLE" | cut -f1)  $BUNDLE"
[ -n "$ARCHIVE" ] && echo "archive: $(du -sh "$ARCHIVE" | cut -f1)  $ARCHIVE"
echo "biggest contributors:"
$PY installer/size_report.py "$BUNDLE"
# The budget: a download of at most 600 MB that unpacks to at most 1.5 GB.
FOLDER_MB=$(( $(du -sb "$BUNDLE" | cut -f1) / 1000000 ))
ARCHIVE_MB=0; [ -n "$ARCHIVE" ] && ARCHIVE_MB=$(( $(du -sb "$ARCHIVE" | cut -f1) / 1000000 ))
echo "budget: folder $FOLDER_MB MB of 1500, archive $ARCHIVE_MB MB of 600"
if [ "$FOLDER_MB" -gt 1500 ] || [ "$ARCHIVE_MB" -gt 600 ]; then
  echo "build_installer.sh: the bundle is over its size budget" >&2
  exit 1
fi

if [ "$SELFTEST" -eq 1 ]; then
  echo "== frozen self-test"
  QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}" "$BUNDLE/musicgpt" self-test
fi
