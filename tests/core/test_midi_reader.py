"""The mido reader against music21 itself: same seed items, timed text that keeps the timing."""

from __future__ import annotations

import random
from collections import Counter
from fractions import Fraction
from pathlib import Path

import mido
import pytest

from musicgpt_gui.core.music.notation import GRID, join_items, name_to_midi, parse_text, seed_items
from musicgpt_gui.core.music.render import render_flat, render_merged
from musicgpt_gui.core.readers.midi_file import load_midi
from musicgpt_gui.core.readers.midi_reader import MidiReadError, read_piece
from tests.core.midi_factory import BASS, SCALE, TPQ, scale_file, write_midi

M21_MIDI = Path(__import__("music21").__file__).parent / "midi" / "testPrimitive"


@pytest.fixture(scope="module")
def chorale_midis(tmp_path_factory) -> list[Path]:
    """Four real corpus chorales rendered to MIDI by music21."""
    from music21 import corpus

    folder = tmp_path_factory.mktemp("chorales")
    out = []
    # bwv372 repeats its time signature off a bar line, which music21 keeps as given.
    for name in ("bach/bwv269", "bach/bwv347", "bach/bwv311", "bach/bwv372"):
        out.append(Path(corpus.parse(name).write("midi", fp=folder / f"{name.split('/')[1]}.mid")))
    return out


def music21_seed(path: Path) -> list[str]:
    from music21 import converter

    return seed_items(converter.parse(path, forceSource=True))


def test_seed_items_equal_music21_on_corpus_chorales(chorale_midis) -> None:
    for path in chorale_midis:
        assert render_flat(read_piece(path).flat) == music21_seed(path), path.name


@pytest.mark.parametrize("name", ["test05.mid", "test12.mid", "test14.mid", "test17.mid", "test10.mid"])
def test_seed_items_equal_music21_on_shipped_midi(name: str) -> None:
    path = M21_MIDI / name
    assert render_flat(read_piece(path).flat) == music21_seed(path)


def test_seed_names_are_music21s(tmp_path: Path) -> None:
    path = write_midi(
        tmp_path / "a.mid",
        [[(0, 1, 61), (1, 1, 63)], [(0, 2, 57)]],
        programs=[0, 40],
        bpm=120.01,
        key="F#m",
        time_signature=(3, 4),
    )
    items = render_flat(read_piece(path).flat)
    assert items == music21_seed(path)
    assert "tempo.MetronomeMark animato Quarter=120.01" in items
    assert {"Piano", "Violin", "f# minor", "meter.TimeSignature 3/4", "C#4", "E-4", "A3"} <= set(items)


def grid_notes_from_mido(path: Path) -> Counter:
    """(onset, pitch, length) of every note, read straight from the file and put on the 1/12 grid."""
    midi = mido.MidiFile(path)

    def snap(ticks: int) -> Fraction:
        return round(Fraction(ticks, midi.ticks_per_beat) / GRID) * GRID

    found = Counter()
    for track in midi.tracks:
        now, started = 0, {}
        for msg in track:
            now += msg.time
            if msg.type == "note_on" and msg.velocity:
                started[msg.note] = now
            elif msg.type in ("note_off", "note_on") and msg.note in started:
                on = started.pop(msg.note)
                found[(snap(on), msg.note, snap(now) - snap(on))] += 1
    return found


def test_timed_round_trip_of_a_corpus_chorale(chorale_midis) -> None:
    path = chorale_midis[0]
    text = join_items(render_merged(read_piece(path), "timed"))
    parsed = parse_text(text)
    assert parsed.skipped == []
    ours = Counter((n.onset, n.pitch, n.duration) for n in parsed.notes)
    expected = grid_notes_from_mido(path)
    assert ours == expected  # every voice keeps its note, unisons included
    assert parsed.tempos[0] == (0, 120.0)


def test_merge_makes_chords_and_rests_first_takes_one_track(tmp_path: Path) -> None:
    path = write_midi(tmp_path / "m.mid", [[(0, 1, 72), (2, 1, 74)], [(0, 1, 60), (2, 2, 62)]], names=["Right", "Left"])
    piece = read_piece(path)
    merged = render_merged(piece, "timed")
    assert merged[-3:] == ["C5 C4:1.0", "rest:1.0", "D5~1.0 D4:2.0"]
    first = render_merged(piece, "timed", "first")
    assert first[-3:] == ["C5:1.0", "rest:1.0", "D5:1.0"]
    assert "Left: Piano" not in first and "Left: Piano" in merged  # music21 joins track name and program
    assert render_merged(piece, "seed")[-3:] == ["C5 C4", "rest", "D5 D4"]


def test_drums_are_excluded_unless_asked(tmp_path: Path) -> None:
    path = write_midi(tmp_path / "d.mid", [SCALE, [(0, 0.5, 36), (1, 0.5, 38)]], channels=[0, 9])
    assert {n.pitch for n in read_piece(path).notes} == {p for _, _, p in SCALE}
    assert {36, 38} <= {n.pitch for n in read_piece(path, include_drums=True).notes}
    assert {n.pitch for n in read_piece(path, flat=False).notes} == {p for _, _, p in SCALE}  # symusic
    assert {36, 38} <= {n.pitch for n in read_piece(path, include_drums=True, flat=False).notes}
    drums_only = write_midi(tmp_path / "only.mid", [[(0, 1, 36)]], channels=[9])
    for flat in (True, False):
        with pytest.raises(MidiReadError, match="only drums: 1 notes on channel 10"):
            read_piece(drums_only, flat=flat)


def test_transposed_rendering_shifts_pitches_and_key(tmp_path: Path) -> None:
    piece = read_piece(scale_file(tmp_path / "s.mid"), flat=True)
    up = render_merged(piece, "timed", semitones=2)
    assert "D major" in up and up[-1].startswith("D5")
    pairs = list(zip(render_flat(piece.flat), render_flat(piece.flat, 2)))
    notes = [(a, b) for a, b in pairs if name_to_midi(a) is not None]
    assert len(notes) == len(SCALE) + len(BASS)
    assert all(name_to_midi(b) == name_to_midi(a) + 2 for a, b in notes)
    high = write_midi(tmp_path / "h.mid", [[(0, 1, 127)]])
    assert render_merged(read_piece(high), "timed", semitones=1) is None


def bad_bytes(tmp_path: Path) -> dict[str, bytes]:
    good = scale_file(tmp_path / "good.mid").read_bytes()
    header_end = 14 + 8  # MThd chunk, then the first MTrk header
    flipped = bytearray(good)
    first_note = flipped.index(bytes([0x90]))  # note-on status of the first note
    flipped[first_note + 1] = 0xC8  # a data byte above 127
    return {
        "zero": b"",
        "random": bytes(random.Random(1).randrange(256) for _ in range(300)),
        "truncated": good[: header_end + 10],
        "data byte": bytes(flipped),
        "no notes": write_midi(tmp_path / "empty.mid", [[]]).read_bytes(),
        "smpte": good[:12] + bytes([0xE7, 0x28]) + good[14:],  # -25 frames/s, 40 ticks per frame
        "zero division": good[:12] + bytes([0, 0]) + good[14:],
    }


@pytest.mark.parametrize(
    "case,reason",
    [
        ("zero", "empty file"),
        ("random", "not a MIDI file"),
        ("truncated", "truncated"),
        ("no notes", "no notes at all"),
        ("smpte", "SMPTE time division"),
        ("zero division", "0 ticks per beat"),
    ],
)
@pytest.mark.parametrize("flat", [True, False])
def test_bad_midi_gives_a_plain_reason(tmp_path: Path, case: str, reason: str, flat: bool) -> None:
    with pytest.raises(MidiReadError, match=reason):
        read_piece(bad_bytes(tmp_path)[case], flat=flat)


@pytest.mark.parametrize("flat", [True, False])
def test_a_data_byte_above_127_is_read_tolerantly_with_a_warning(tmp_path: Path, flat: bool) -> None:
    piece = read_piece(bad_bytes(tmp_path)["data byte"], flat=flat)
    # The clipped note-on (127) has no note-off and the C4 note-off no note-on: that one note is skipped.
    assert sorted(n.pitch for n in piece.notes) == sorted(p for _, _, p in SCALE[1:] + BASS)
    assert len(piece.warnings) == 1 and "tolerant reader" in piece.warnings[0]
    assert read_piece(scale_file(tmp_path / "fine.mid"), flat=flat).warnings == []


def test_load_midi_reads_good_files(tmp_path: Path) -> None:
    midi = load_midi(scale_file(tmp_path / "ok.mid"))
    assert midi.ticks_per_beat == TPQ and len(midi.tracks) == 3
    assert len(BASS) == sum(1 for m in midi.tracks[2] if m.type == "note_on" and m.velocity)


def test_a_zero_tempo_is_a_read_error_not_a_division_by_zero(tmp_path: Path) -> None:
    midi = mido.MidiFile(ticks_per_beat=TPQ)
    midi.tracks.append(
        mido.MidiTrack(
            [
                mido.MetaMessage("set_tempo", tempo=0),
                mido.Message("note_on", note=60, velocity=80),
                mido.Message("note_off", note=60, time=TPQ),
            ]
        )
    )
    midi.save(tmp_path / "zero-tempo.mid")
    with pytest.raises(MidiReadError, match="0 microseconds per beat"):
        read_piece(tmp_path / "zero-tempo.mid")
