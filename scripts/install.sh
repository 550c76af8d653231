#!/usr/bin/env bash
# Installs musicgpt-gui into ./.venv on Debian/Ubuntu: system libraries (apt, as root or via sudo),
# then the Python packages.  Usage: scripts/install.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."

# Qt WebEngine / xcb libraries for a bare machine, JACK for MIDI, venv support for the system Python.
APT_PACKAGES="python3-venv python3-pip jackd2 libegl1 libgl1 libopengl0 libglib2.0-0 libnss3 libnspr4
 libfontconfig1 libfreetype6 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0 libxcomposite1 libxdamage1
 libxrandr2 libxtst6 libxshmfence1 libgbm1 libxkbfile1 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 libxcb-render-util0 libxcb-image0 libxss1 libasound2
 timgm6mb-soundfont"
# With --test: a PulseAudio server (the audio-output test starts a private one with a null sink) and
# the fluidsynth command line that bench/bench_synth.py compares against; the app needs neither.
[ "${1:-}" = "--test" ] && APT_PACKAGES="$APT_PACKAGES pulseaudio fluidsynth"

if command -v apt-get >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  # One package per line on failure, so a name missing on one distribution does not stop the rest.
  if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $APT_PACKAGES >/dev/null; then
    for p in $APT_PACKAGES; do
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null || echo "install.sh: apt package $p not available, skipped" >&2
    done
  fi
fi

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# MUSICGPT_CONSTRAINTS=installer/constraints.txt (CI sets it) installs the pinned versions the
# installer is built with; without it, the newest versions within pyproject.toml's ranges.
PIP=".venv/bin/python -m pip"
if [ -n "${MUSICGPT_CONSTRAINTS:-}" ]; then PIP_INSTALL="$PIP install -c $MUSICGPT_CONSTRAINTS"; else PIP_INSTALL="$PIP install"; fi
$PIP_INSTALL -q --upgrade pip wheel "setuptools<81"
# XStatic-RequireJS is an sdist whose setup imports pkg_resources, which new setuptools lacks.
$PIP_INSTALL -q --no-build-isolation "XStatic-RequireJS>=2.1"
# tinysoundfont declares pyaudio for its own live output, which we do not use (QtMultimedia plays);
# pyaudio has no Linux wheel and would need PortAudio headers and a compiler.
$PIP_INSTALL -q --no-deps "tinysoundfont>=0.3.7"
if [ "${1:-}" = "--test" ]; then
  $PIP_INSTALL -q -e ".[test]"
else
  $PIP_INSTALL -q -e .
fi
