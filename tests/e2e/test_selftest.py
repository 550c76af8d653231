"""`musicgpt self-test` from source: every step passes, and any failure makes the run fail."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import mido
import pytest

from musicgpt_gui.selftest import checks
from musicgpt_gui.selftest.checks import Step, StepFailed

STEPS = (
    "music21 corpus",
    "import corpus",
    "import MIDI",
    "train 2 steps",
    "generate",
    "attention page",
    "export MIDI",
    "render a WAV",
    "play (null out)",
    "GUI tabs",
)


@pytest.mark.slow
def test_self_test_passes_end_to_end_from_source(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", MUSICGPT_WORKSPACE=str(tmp_path / "unused"))
    done = subprocess.run(
        [sys.executable, "-m", "musicgpt_gui.cli", "self-test"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    for name in STEPS:
        assert any(line.startswith("ok") and f" {name} " in line for line in lines), (name, done.stdout)
    assert lines[-1] == f"self-test passed: {len(STEPS)} steps"
    user_files = [p for p in (tmp_path / "unused").rglob("*") if p.is_file()]
    assert not user_files, "the self-test works in a temporary workspace, never the user's"


def test_a_failing_step_is_reported_and_the_others_still_run() -> None:
    def broken() -> str:
        raise StepFailed("not available yet (musicgpt_gui.core.nothing is missing)")

    out = io.StringIO()
    results = checks.run_steps([Step("broken", broken), Step("fine", lambda: "done")], out)
    assert [r.ok for r in results] == [False, True]
    first, second = out.getvalue().splitlines()
    assert first.startswith("FAIL broken") and first.endswith(
        "not available yet (musicgpt_gui.core.nothing is missing)"
    )
    assert second.startswith("ok   fine") and second.endswith("done")


def test_a_missing_part_is_not_available_yet() -> None:
    with pytest.raises(StepFailed, match="not available yet"):
        checks.require_module("musicgpt_gui.core.no_such_part")
    checks.require_module("musicgpt_gui.core.music.notation")


def test_the_midi_check_rejects_a_silent_file_and_accepts_notes(tmp_path: Path) -> None:
    silent, notes = tmp_path / "silent.mid", tmp_path / "notes.mid"
    midi = mido.MidiFile()
    midi.tracks.append(mido.MidiTrack([mido.Message("program_change", program=0)]))
    midi.save(silent)
    midi.tracks[0] += [mido.Message("note_on", note=60, velocity=80), mido.Message("note_off", note=60, time=480)]
    midi.save(notes)
    with pytest.raises(StepFailed, match="no note"):
        checks.check_midi(silent)
    with pytest.raises(StepFailed, match="no MIDI file"):
        checks.check_midi(tmp_path / "missing.mid")
    assert checks.check_midi(notes).startswith("notes.mid: 1 notes")


def test_the_built_in_corpora_resolve_through_music21() -> None:
    assert "Essen folk corpus files" in checks.check_corpus_lookup()


def test_the_commands_and_the_self_test_do_not_import_the_cli() -> None:
    """No import cycle: the self-test gets the CLI entry passed in, and no command imports another."""
    code = (
        "import sys, musicgpt_gui.commands, musicgpt_gui.selftest.steps; "
        "assert 'musicgpt_gui.cli' not in sys.modules; "
        "assert 'PySide6' not in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_render_step_writes_a_wav_that_is_not_silent(workspace) -> None:
    import numpy as np

    from musicgpt_gui.cli import main
    from musicgpt_gui.selftest.steps import SelfTest
    from musicgpt_gui.core.midi.synth import write_wav

    detail = SelfTest(workspace, main).render_wav()
    assert detail.startswith("selftest-render.wav:") and (workspace.exports / "selftest-render.wav").is_file()
    silent = workspace.exports / "silent.wav"
    write_wav(silent, np.zeros((4410, 2), np.float32), 44100)
    with pytest.raises(StepFailed, match="silent"):
        checks.check_wav(silent)
