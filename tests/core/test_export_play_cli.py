"""`musicgpt export` and `musicgpt play` as a user runs them: files, ports, clear failures."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import mido
import pytest

from musicgpt_gui.cli import main
from musicgpt_gui.core.midi.midi_ports import ALSA_SEQ, CHOICE_FILE, PortChoice, load_choice

from .test_playback import Listener

PIECE = "tempo=300, C4 E4:1.0, rest:0.5, G4:0.5"


def musicgpt(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The CLI in a child process, exactly as a shell runs it."""
    return subprocess.run(
        [sys.executable, "-m", "musicgpt_gui.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, **(env or {})),
        cwd=cwd,
    )


def pitches(path: Path) -> list[int]:
    return [m.note for m in mido.MidiFile(path) if m.type == "note_on" and m.velocity]


def test_export_text_and_text_files(workspace, tmp_path: Path, capsys) -> None:
    out = tmp_path / "piece.mid"
    assert main(["export", "--text", PIECE, "--out", str(out)]) == 0
    assert pitches(out) == [60, 64, 67]
    assert str(out) in capsys.readouterr().out

    seed = tmp_path / "seed.txt"
    seed.write_text("Piano, C4, D4 F4\nrest, E4\n")
    assert main(["export", "--in", str(seed), "--note-length", "1.0"]) == 0
    written = workspace.exports / "seed.mid"
    midi = mido.MidiFile(written)
    assert pitches(written) == [60, 62, 65, 64]
    assert midi.length == pytest.approx(4 * 0.5)  # four 1-quarter steps at 120 bpm


def test_export_of_bad_input_is_one_clear_line(workspace, tmp_path: Path) -> None:
    run = musicgpt("--workspace", str(workspace.root), "export", "--text", "junk, H9", "--out", str(tmp_path / "x.mid"))
    assert run.returncode == 1
    assert (
        run.stderr.strip() == "musicgpt: error: The note text has no playable notes (2 of 2 items were not understood)."
    )
    assert not (tmp_path / "x.mid").exists()
    missing = musicgpt("--workspace", str(workspace.root), "export", "--in", str(tmp_path / "nope.txt"))
    assert missing.returncode == 1 and "Cannot read note text" in missing.stderr and "Traceback" not in missing.stderr


def test_no_alsa_sequencer_gives_advice_and_export_still_works(workspace, tmp_path: Path) -> None:
    played = musicgpt("--workspace", str(workspace.root), "play", "--api", "alsa", "--text", PIECE)
    if ALSA_SEQ.exists():  # a machine with ALSA has at least 'Midi Through' to play on
        assert played.returncode == 0, played.stderr
    else:
        assert played.returncode == 1
        lines = played.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("musicgpt: error: MIDI output through alsa is not available")
        assert "snd-seq" in lines[0] and "--api jack" in lines[0]
    exported = musicgpt(
        "--workspace", str(workspace.root), "export", "--text", PIECE, "--out", str(tmp_path / "ok.mid")
    )
    assert exported.returncode == 0 and pitches(tmp_path / "ok.mid") == [60, 64, 67]


def test_no_jack_server_gives_advice(workspace) -> None:
    nowhere = {"JACK_DEFAULT_SERVER": f"none-{uuid.uuid4().hex[:8]}", "JACK_NO_START_SERVER": "1"}
    played = musicgpt("--workspace", str(workspace.root), "play", "--api", "jack", "--text", PIECE, env=nowhere)
    assert played.returncode == 1
    message = [line for line in played.stderr.splitlines() if line.startswith("musicgpt:")]
    assert len(message) == 1 and "jackd -d dummy" in message[0]
    assert "Traceback" not in played.stderr


@pytest.mark.jack
@pytest.mark.usefixtures("jack_server")
def test_play_on_jack_remembers_the_port(workspace, tmp_path: Path, capsys) -> None:
    listener = Listener()
    try:
        assert main(["play", "--api", "jack", "--list-ports"]) == 0
        assert listener.port_name in capsys.readouterr().out.splitlines()

        assert main(["play", "--api", "jack", "--port", listener.client, "--text", PIECE]) == 0
        assert load_choice(workspace.root / CHOICE_FILE) == PortChoice("jack", port=listener.port_name)
        listener.wait_for(lambda notes: ("off", 67) in notes)  # the piece's last message
        listener.settle()
        assert [p for kind, p in listener.notes() if kind == "on"] == [60, 64, 67]

        listener.messages.clear()
        midi_file = tmp_path / "again.mid"
        assert main(["export", "--text", PIECE, "--out", str(midi_file)]) == 0
        assert main(["play", str(midi_file)]) == 0  # no --api/--port: the remembered choice
        listener.wait_for(lambda notes: ("off", 67) in notes)
        listener.settle()
        assert [p for kind, p in listener.notes() if kind == "on"] == [60, 64, 67]
    finally:
        listener.close()


def test_export_says_which_parts_are_wrong(workspace, tmp_path: Path, capsys) -> None:
    text = "@1=Lead program=73, @2=Kit drums=0, @3=Pad program=89, @1 C5 @2 C2:1.0, @4 C4:1.0, @2 C7:1.0"
    out = tmp_path / "band.mid"
    assert main(["export", "--text", text, "--out", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "musicgpt: skipped 2 of 6 items that are not note text",
        "musicgpt: '@4 C4:1.0': part @4 is not declared",
        "musicgpt: '@2 C7:1.0': drum note C7 (MIDI 96) is outside the General MIDI drum map (35-81)",
        "musicgpt: part @3 (Pad) is declared but no note uses it",
    ]
    assert [t.name for t in mido.MidiFile(out).tracks[1:]] == ["Lead", "Kit", "Pad"]
    run = musicgpt("--workspace", str(workspace.root), "export", "--text", "@1=A program=0, @2 C4:1.0")
    assert run.returncode == 1 and run.stderr.strip() == (
        "musicgpt: error: The note text has no playable notes (1 of 2 items were not understood; "
        "'@2 C4:1.0': part @2 is not declared)."
    )
