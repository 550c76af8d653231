"""The built-in synth on a real audio server: a private PulseAudio with a null sink (Debian ``pulseaudio``).

Qt Multimedia picks its audio backend once per process, so the playing side runs in a child
process pointed at the private server; it reports what the QAudioSink pulled.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHILD = r"""
import json, sys, time
import numpy as np
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
app = QApplication([])
from musicgpt_gui.ui.playback_bridge import PlaybackBridge
bridge = PlaybackBridge(QSettings(sys.argv[1], QSettings.Format.IniFormat))
bridge.play_text("test", "tempo=120, " + ", ".join(f"{n}4:0.5" for n in "CDEFGABC"))  # 4 s
synth, pulled = bridge._port, []
pull = synth.pull
synth.pull = lambda n: pulled.append((time.monotonic(), pull(n))) or pulled[-1][1]
began = time.monotonic()
while time.monotonic() - began < 2.0:
    app.processEvents()
    time.sleep(0.002)
bridge.pause()
paused = time.monotonic()
while time.monotonic() - paused < 1.0:
    app.processEvents()
    time.sleep(0.002)
late = [pcm for t, pcm in pulled if t > paused + 0.5]
frames = sum(len(p) for _, p in pulled if p is not None)
print(json.dumps({
    "device": bridge._audio.description,
    "seconds_pulled_while_playing": sum(len(p) for t, p in pulled if t <= paused) / synth.sample_rate,
    "loud_while_playing": float(max(np.abs(p).max() for t, p in pulled if t <= paused and len(p))),
    "loud_after_pause": float(max((np.abs(p).max() for p in late if len(p)), default=0.0)),
}))
bridge.close()
"""


@pytest.fixture()
def pulse_server(tmp_path: Path):
    daemon = shutil.which("pulseaudio")
    if daemon is None:
        pytest.fail("pulseaudio is not installed (scripts/install.sh --test installs it)", pytrace=False)
    home = tmp_path / "pulse"
    home.mkdir()
    socket = home / "native"
    env = dict(os.environ, HOME=str(home), XDG_RUNTIME_DIR=str(home))
    cmd = [daemon, "-n", "--daemonize=no", "--exit-idle-time=-1", "-L", "module-null-sink sink_name=null",
           "-L", f"module-native-protocol-unix socket={socket} auth-anonymous=1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not socket.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the private PulseAudio server did not start")
        time.sleep(0.05)
    yield f"unix:{socket}"
    proc.terminate()
    proc.wait(10)


def test_the_sink_pulls_the_synth_in_real_time_and_pause_silences(pulse_server, tmp_path: Path) -> None:
    env = dict(os.environ, PULSE_SERVER=pulse_server, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "settings.ini")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["device"]
    assert report["seconds_pulled_while_playing"] == pytest.approx(2.0, abs=0.3)  # the device's pace
    assert report["loud_while_playing"] > 0.02
    assert report["loud_after_pause"] < 1e-3
