"""The built-in synth: render speed against FluidSynth's command line, live underruns and Play-to-sound lag.

    python bench/bench_synth.py [--seconds S] [--qt-audio] [--results FILE]

One run, same MIDI file and SoundFont for both synths:
* render speed in multiples of real time: ours (tinysoundfont, in-process ``render_pcm``) against
  ``fluidsynth -ni -F out.wav -r 44100 SF2 MID`` (Debian ``fluidsynth``), both timed wall-clock
  including loading the SoundFont (ours also without, i.e. what a second render costs);
* underruns while the one :class:`Player` plays S seconds into the synth and a paced null
  device (core/midi/audio_sink.py: 512-frame blocks, 4 buffered) pulls the audio; goal 0;
* lag from ``Player.play()`` to the first audible sample leaving the null device (median of 5),
  which includes the device buffer (46 ms here; the GUI's QAudioSink buffer is 50 ms);
* with ``--qt-audio`` (an audio server must answer, e.g. ``PULSE_SERVER`` pointing at a
  PulseAudio null sink): the GUI's path, PlaybackBridge -> QAudioSink: the first Play (opens the
  stream) and the lag from later Plays to the first audible sample the sink pulls (median of 5).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from musicgpt_gui.core.midi.audio_sink import NullSink  # noqa: E402
from musicgpt_gui.core.midi.midi_io import export_midi  # noqa: E402
from musicgpt_gui.core.midi.playback import Player  # noqa: E402
from musicgpt_gui.core.midi.soundfont import find_soundfont  # noqa: E402
from musicgpt_gui.core.midi.synth import SoundFontSynth, render_pcm  # noqa: E402
from musicgpt_gui.core.music.notation import midi_to_name  # noqa: E402

RATE = 44100


def dense_piece(seconds: float) -> str:
    """Sixteenths in three voices at 120 bpm (8 per second): an arpeggio over a moving chord."""
    items = ["tempo=120"]
    for step in range(int(seconds * 8)):
        chord = [48 + (step // 4) % 7, 55 + (step // 4) % 5, 72 + (step * 5) % 12]
        items.append(" ".join(midi_to_name(p) for p in chord) + ":0.25")
    return ", ".join(items)


def time_ours(midi_path: Path, soundfont: Path) -> tuple[float, float, float]:
    import mido

    midi = mido.MidiFile(midi_path)
    began = time.perf_counter()
    synth = SoundFontSynth(soundfont, RATE)
    loaded = time.perf_counter()
    pcm = render_pcm(midi, synth=synth)
    done = time.perf_counter()
    return done - began, done - loaded, len(pcm) / RATE


def time_fluidsynth(midi_path: Path, soundfont: Path, out: Path) -> tuple[float, float]:
    cmd = ["fluidsynth", "-ni", "-q", "-F", str(out), "-r", str(RATE), str(soundfont), str(midi_path)]
    began = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    seconds = time.perf_counter() - began
    import wave

    with wave.open(str(out), "rb") as wav:
        return seconds, wav.getnframes() / wav.getframerate()


def live_run(midi, soundfont: Path, seconds: float) -> tuple[int, int, float]:
    """Play ``seconds`` through Player -> synth -> null device; (underruns, blocks, lag to first sound)."""
    synth = SoundFontSynth(soundfont, RATE)
    sink = NullSink(synth)
    player = Player(synth)
    player.load(midi)
    sink.start()
    time.sleep(
        0.2 + random.uniform(0, sink.period)
    )  # the device runs before Play is pressed; presses fall anywhere in a block
    pressed = time.monotonic()
    player.play()
    player.wait(seconds)
    player.stop()
    sink.stop()
    lag = (sink.first_sound - pressed) if sink.first_sound else float("nan")
    return sink.underruns, sink.blocks, lag


def qt_audio_lags() -> tuple[float, list[float]]:
    """(seconds the first Play took, ms from later Plays to the first loud block the QAudioSink pulled)."""
    import numpy as np
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from musicgpt_gui.core.midi.synth import SILENCE
    from musicgpt_gui.ui.playback_bridge import PlaybackBridge

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        bridge = PlaybackBridge(QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat))
        text = "tempo=120, rest:0.01, C4 E4 G4:1"
        began = time.monotonic()
        bridge.play_text("bench", text)
        first = time.monotonic() - began
        synth, loud = bridge._port, []
        pull = synth.pull

        def watch(frames: int):
            pcm = pull(frames)
            if not loud and len(pcm) and np.abs(pcm).max() > SILENCE:
                loud.append(time.monotonic())
            return pcm

        synth.pull = watch
        lags = []
        for _ in range(5):
            bridge.stop()
            deadline = time.monotonic() + 0.3 + random.uniform(0, 0.02)
            while time.monotonic() < deadline:
                app.processEvents()
                time.sleep(0.001)
            loud.clear()
            pressed = time.monotonic()
            bridge.play_text("bench", text)
            while not loud and time.monotonic() - pressed < 2:
                app.processEvents()
                time.sleep(0.001)
            lags.append(((loud[0] if loud else float("nan")) - pressed) * 1000 + bridge._audio.latency * 1000)
        bridge.close()
    return first, lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--qt-audio", action="store_true", help="also measure the GUI's QAudioSink path")
    parser.add_argument("--results", type=Path, default=Path(__file__).parent / "results" / "synth.txt")
    args = parser.parse_args()
    import mido

    soundfont = find_soundfont()
    load_before = os.getloadavg()[0]
    lines = [
        f"# bench_synth  {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC  {platform.platform()}  "
        f"python {platform.python_version()}  cpus {os.cpu_count()}  load avg (1 min) {load_before:.1f} before"
    ]
    with tempfile.TemporaryDirectory() as tmp:
        midi_path = export_midi(dense_piece(args.seconds), Path(tmp) / "piece.mid")
        midi = mido.MidiFile(midi_path)
        lines.append(
            f"piece: {args.seconds:.0f} s of sixteenths in 3 voices at 120 bpm "
            f"({sum(1 for m in midi if not m.is_meta)} "
            f"messages); SoundFont {soundfont} ({soundfont.stat().st_size / 1e6:.1f} MB); {RATE} Hz"
        )
        total, render_only, audio_s = time_ours(midi_path, soundfont)
        ours = audio_s / total
        lines.append(
            f"render ours (tinysoundfont): {total:.2f} s for {audio_s:.1f} s of audio = {ours:.0f}x real time "
            f"({audio_s / render_only:.0f}x without loading the SoundFont)"
        )
        if shutil.which("fluidsynth"):
            fs_s, fs_audio = time_fluidsynth(midi_path, soundfont, Path(tmp) / "fs.wav")
            theirs = fs_audio / fs_s
            lines.append(
                f"render fluidsynth -F (CLI): {fs_s:.2f} s for {fs_audio:.1f} s of audio = {theirs:.0f}x real time"
            )
            lines.append(f"render speed ratio ours/fluidsynth: {ours / theirs:.2f}x")
        else:
            lines.append("render fluidsynth -F: not installed (apt install fluidsynth)")
        underruns, blocks, lag = live_run(midi, soundfont, args.seconds)
        lines.append(
            f"live: {args.seconds:.0f} s through Player -> synth -> null device (512-frame blocks, 4 buffered): "
            f"{underruns} underruns in {blocks} blocks (goal 0)"
        )
        short = mido.MidiFile(export_midi("tempo=120, C4 E4 G4:2", Path(tmp) / "short.mid"))
        lags = [live_run(short, soundfont, 0.3)[2] * 1000 for _ in range(5)]
        lines.append(
            f"lag Play -> first sound (null device, incl. its 46 ms buffer): median {statistics.median(lags):.1f} ms, "
            f"max {max(lags):.1f} ms over 5 presses"
        )
    if args.qt_audio:
        first, qt_lags = qt_audio_lags()
        lines.append(
            f"QAudioSink (PULSE_SERVER={os.environ.get('PULSE_SERVER', 'default')}): first Play {first * 1000:.0f} ms "
            f"(opens the stream, waits until it flows); later Plays to first sound incl. the 50 ms buffer: "
            f"median {statistics.median(qt_lags):.1f} ms, max {max(qt_lags):.1f} ms over 5"
        )
    lines.append(f"load avg (1 min) after: {os.getloadavg()[0]:.1f}")
    report = "\n".join(lines) + "\n"
    print(report, end="")
    args.results.parent.mkdir(parents=True, exist_ok=True)
    with args.results.open("a", encoding="utf-8") as fh:
        fh.write("\n" + report)


if __name__ == "__main__":
    main()
