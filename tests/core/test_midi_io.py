"""Note text -> MIDI: what mido and music21 read back, provenance, seed note length, round trip."""

from __future__ import annotations

from collections import Counter

from fractions import Fraction
from pathlib import Path

import mido
import pytest

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.midi.midi_io import PROVENANCE_PREFIX, export_midi, provenance_of, render_midi
from musicgpt_gui.core.music.notation import join_items, parse_text, quantize
from musicgpt_gui.core.music.render import render_merged
from musicgpt_gui.core.readers.midi_reader import read_piece

TIMED = "tempo=96, velocity=70, C4 E4~2.0:1.0, rest:0.5, program=40, velocity=100, G4:1/3, A4:2/3, tempo=60, B4:1.0"


def notes_of(midi: mido.MidiFile) -> list[tuple[Fraction, int, Fraction, int, int]]:
    """(onset, pitch, duration, velocity, channel) in quarters, paired per track."""
    out = []
    for track in midi.tracks:
        tick, sounding = 0, {}
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                sounding.setdefault((msg.channel, msg.note), []).append((tick, msg.velocity))
            elif msg.type in ("note_on", "note_off"):
                start, velocity = sounding[(msg.channel, msg.note)].pop(0)
                beats = Fraction(midi.ticks_per_beat)
                out.append((quantize(start / beats), msg.note, quantize((tick - start) / beats), velocity, msg.channel))
    return sorted(out)


def test_timed_text_keeps_durations_tempo_velocity_and_program(tmp_path: Path) -> None:
    path = export_midi(TIMED, tmp_path / "out" / "piece.mid")
    midi = mido.MidiFile(path)
    assert notes_of(midi) == [
        (Fraction(0), 60, Fraction(1), 70, 0),
        (Fraction(0), 64, Fraction(2), 70, 0),
        (Fraction(3, 2), 67, Fraction(1, 3), 100, 1),
        (Fraction(11, 6), 69, Fraction(2, 3), 100, 1),
        (Fraction(5, 2), 71, Fraction(1), 100, 1),
    ]
    tempos = [(m.time, round(mido.tempo2bpm(m.tempo), 3)) for m in midi.tracks[0] if m.type == "set_tempo"]
    assert [bpm for _, bpm in tempos] == [96, 60]
    programs = {m.channel: m.program for t in midi.tracks for m in t if m.type == "program_change"}
    assert programs == {0: 0, 1: 40}
    # 2.5 quarters at 96 bpm, then 1 quarter at 60 bpm
    assert midi.length == pytest.approx(2.5 * 60 / 96 + 1.0)


def test_music21_reads_the_export_back(tmp_path: Path) -> None:
    from music21 import converter

    path = export_midi(TIMED, tmp_path / "piece.mid")
    score = converter.parse(str(path))
    pitches = sorted(p.midi for n in score.recurse().notes for p in n.pitches)
    assert pitches == [60, 64, 67, 69, 71]


def test_provenance_is_a_text_event_only_when_known(tmp_path: Path) -> None:
    provenance = {
        "model": "124M",
        "checkpoint": "run1/model-40",
        "sampling": {"temperature": 0.9, "top_k": 40},
        "seed": 7,
        "prefix": None,
    }
    midi = mido.MidiFile(export_midi("C4:1.0", tmp_path / "a.mid", provenance))
    texts = [m.text for t in midi.tracks for m in t if m.type == "text"]
    assert len(texts) == 1 and texts[0].startswith(PROVENANCE_PREFIX)
    assert provenance_of(midi) == {k: v for k, v in provenance.items() if v is not None}

    plain = mido.MidiFile(export_midi("C4:1.0", tmp_path / "b.mid"))
    assert provenance_of(plain) is None
    assert not [m for t in plain.tracks for m in t if m.type == "text"]


def test_seed_text_uses_the_default_or_given_note_length() -> None:
    seed = "Piano, f# minor, C4, D4 F4, rest, E4"
    default = notes_of(render_midi(seed))
    assert [(on, p, d) for on, p, d, _, _ in default] == [
        (Fraction(0), 60, Fraction(1, 2)),
        (Fraction(1, 2), 62, Fraction(1, 2)),
        (Fraction(1, 2), 65, Fraction(1, 2)),
        (Fraction(3, 2), 64, Fraction(1, 2)),
    ]
    longer = notes_of(render_midi(seed, note_length=1.0))
    assert [(on, d) for on, _, d, _, _ in longer] == [(0, 1), (1, 1), (1, 1), (3, 1)]


def test_text_without_notes_is_a_clear_error_and_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "keep.mid"
    export_midi("C4:1.0", path)
    before = path.read_bytes()
    with pytest.raises(JobError, match="no playable notes"):
        export_midi("junk, H9, rest:1.0", path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.mid"]


def test_bach_chorale_survives_midi_text_midi(tmp_path: Path) -> None:
    from music21 import corpus

    source = tmp_path / "bwv66.6.mid"
    corpus.parse("bach/bwv66.6").write("midi", fp=str(source))
    text = join_items(render_merged(read_piece(source), "timed"))
    ours = render_midi(text)

    def sounding(midi: mido.MidiFile) -> Counter:
        """Every (onset, pitch, length), unison voices counted twice: each voice keeps its note."""
        return Counter((onset, pitch, duration) for onset, pitch, duration, _, _ in notes_of(midi))

    original = sounding(mido.MidiFile(source))
    assert len(original) > 100
    assert sounding(ours) == original


def test_a_doubled_pitch_gets_a_channel_of_its_own_and_comes_back(tmp_path: Path) -> None:
    text = "C4~2.0 C4 C4 E4:1.0, C4:1.0"  # three voices on C4, one still held when C4 starts again
    midi = render_midi(text)
    channels = {msg.channel for track in midi.tracks for msg in track if msg.type == "note_on"}
    assert len(channels) == 3  # on one channel a second note-on would re-strike the key
    export_midi(text, tmp_path / "three.mid")
    back = join_items(render_merged(read_piece(tmp_path / "three.mid", flat=False), "timed"))

    def notes(timed: str) -> Counter:
        return Counter((n.onset, n.pitch, n.duration) for n in parse_text(timed).notes)

    assert notes(back) == notes(text) and sum(notes(text).values()) == 5


def test_more_doubled_voices_than_channels_share_their_programs_channel() -> None:
    text = ", ".join(f"program={p}, C4 C4:1.0" for p in range(15))  # 15 programs, each doubled: 30 lanes
    midi = render_midi(text)
    assert len(midi.tracks) == 16  # the conductor and the 15 channels MIDI has besides drums
    assert sum(msg.type == "note_on" for track in midi.tracks for msg in track) == 30  # no note dropped
