"""`musicgpt render` and `musicgpt play` with the built-in synth, as a user runs them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.midi import soundfont
from musicgpt_gui.core.midi.synth import read_wav

from .test_export_play_cli import musicgpt
from .test_synth import C_MAJOR, spectrum, strongest_peaks

try:
    SOUNDFONT = soundfont.find_soundfont()
except JobError:
    pytest.fail("no General MIDI SoundFont installed (scripts/install.sh installs timgm6mb-soundfont)", pytrace=False)


def test_render_text_and_midi_files_to_wav(workspace, tmp_path: Path) -> None:
    ws = ("--workspace", str(workspace.root))
    done = musicgpt(
        *ws,
        "render",
        "--text",
        "tempo=60, C4 E4 G4:2",
        "--out",
        str(tmp_path / "chord.wav"),
        "--sample-rate",
        "32000",
        "--soundfont",
        str(SOUNDFONT),
    )
    assert done.returncode == 0, done.stderr
    pcm, rate = read_wav(tmp_path / "chord.wav")
    assert rate == 32000
    peaks = strongest_peaks(*spectrum(pcm[: 2 * rate], rate), 200, 500, 3)
    assert all(abs(f - e) / e < 0.01 for f, e in zip(peaks, sorted(C_MAJOR.values()))), peaks
    assert soundfont.load_choice(workspace.root / soundfont.CHOICE_FILE) == SOUNDFONT.resolve()
    assert musicgpt(*ws, "export", "--text", "A4:2", "--out", str(tmp_path / "a.mid")).returncode == 0
    done = musicgpt(*ws, "render", str(tmp_path / "a.mid"), "--out", str(tmp_path / "a.wav"))
    assert done.returncode == 0, done.stderr
    pcm, rate = read_wav(tmp_path / "a.wav")
    assert np.abs(pcm).max() > 0.02


def test_render_failures_are_one_line(workspace, tmp_path: Path) -> None:
    ws = ("--workspace", str(workspace.root))
    bad = musicgpt(
        *ws, "render", "--text", "C4", "--out", str(tmp_path / "x.wav"), "--soundfont", str(tmp_path / "no.sf2")
    )
    assert bad.returncode == 1 and bad.stderr.strip().splitlines()[-1].startswith("musicgpt: error: SoundFont")
    assert "Traceback" not in bad.stderr
    empty = musicgpt(*ws, "render", "--text", "nonsense", "--out", str(tmp_path / "x.wav"))
    assert empty.returncode == 1 and "no playable notes" in empty.stderr


def test_play_defaults_to_the_built_in_synth(workspace) -> None:
    played = musicgpt("--workspace", str(workspace.root), "play", "--text", "C4 E4")
    if Path("/dev/snd").exists():
        pytest.skip("a sound card is present: the piece really played")
    assert played.returncode == 1
    assert played.stderr.strip().splitlines() == [
        "musicgpt: error: No audio output device here: render to a file instead ('musicgpt render ... "
        "--out FILE.wav' or Export audio...), or choose a MIDI port."
    ]
