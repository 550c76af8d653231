"""Test set-up shared by every suite: offscreen Qt, a throwaway workspace, tiny corpora."""
from __future__ import annotations

import os

# Before anything imports Qt (Picard/napari style).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu --no-sandbox")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path

import pytest


@pytest.fixture()
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh workspace, also exported as $MUSICGPT_WORKSPACE for CLI and GUI code."""
    from musicgpt_gui.core.workspace import resolve_workspace

    monkeypatch.setenv("MUSICGPT_WORKSPACE", str(tmp_path / "ws"))
    return resolve_workspace(tmp_path / "ws")


# --- JACK server for the MIDI playback tests (issue 5) ---------------------------------------
JACK_PROBE = "import rtmidi; rtmidi.MidiOut(rtmidi.API_UNIX_JACK).get_ports()"


def _jack_answers() -> bool:
    """Ask rtmidi's JACK API in a child process, so a failed client never lingers in ours."""
    import subprocess
    import sys

    env = dict(os.environ, JACK_NO_START_SERVER="1")
    probe = subprocess.run([sys.executable, "-c", JACK_PROBE], env=env, capture_output=True, timeout=30)
    return probe.returncode == 0


@pytest.fixture(scope="session")
def jack_server():
    """A reachable JACK server: the running one, else ``jackd -d dummy`` for this session.

    MIDI tests fail (never skip) without JACK, so CI cannot pass by silently testing nothing.
    """
    import shutil
    import subprocess
    import tempfile
    import time

    if _jack_answers():
        yield
        return
    jackd = shutil.which("jackd")
    if jackd is None:
        pytest.fail("JACK is needed for the MIDI tests but jackd is not installed (Debian package jackd2).")
    # -S (synchronous): a client that misses a cycle on a busy machine delays the cycle instead
    # of losing that cycle's MIDI events, so order/pitch assertions see every message.
    cmd = [jackd, "-S", "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "256"]
    log = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: jackd logs every xrun
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while not _jack_answers():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            log.seek(0)
            reason = log.read().strip()[-500:] or "no answer within 20 s"
            pytest.fail(f"could not start JACK ({' '.join(cmd)}): {reason}")
        time.sleep(0.2)
    yield
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
