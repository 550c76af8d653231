"""Note-text formats: item syntax, music21 names, and the tolerant parser."""

from __future__ import annotations

from fractions import Fraction

from musicgpt_gui.core.music.notation import (
    format_control,
    format_duration,
    format_item,
    join_items,
    midi_to_name,
    name_to_midi,
    parse_text,
    quantize,
    seed_items,
    seed_name,
)


def test_pitch_names_use_music21_spelling() -> None:
    assert [midi_to_name(m) for m in (60, 61, 63, 66, 68, 70)] == ["C4", "C#4", "E-4", "F#4", "G#4", "B-4"]
    assert name_to_midi("E-4") == 63 and name_to_midi("C#3") == 49
    assert (
        name_to_midi("H9") is None
        and name_to_midi("C#") is None
        and name_to_midi("G9") == 127
        and name_to_midi("G#9") is None
    )


def test_item_syntax_of_both_formats() -> None:
    assert format_item(["C#3"]) == "C#3"
    assert format_item(["A3", "C4", "E4"]) == "A3 C4 E4"
    assert format_item(None) == "rest"
    assert format_item(["C#3"], 1) == "C#3:1.0"
    assert format_item(["A3", "C4", "E4"], Fraction(1, 2)) == "A3 C4 E4:0.5"
    assert format_item([], Fraction(1, 4)) == "rest:0.25"
    assert format_item(["A4", "C4"], 1, {"A4": 2}) == "A4~2.0 C4:1.0"
    assert format_duration(Fraction(1, 3)) == "1/3" and format_duration(Fraction(3, 2)) == "1.5"
    assert quantize(0.26) == Fraction(1, 4) and quantize(0.32) == Fraction(1, 3)
    assert format_control("tempo", 120.014) == "tempo=120.01" and format_control("velocity", 80) == "velocity=80"


def test_seed_names_match_the_seed_example() -> None:
    from music21 import chord, instrument, key, meter, note, stream, tempo

    s = stream.Stream()
    for el in (
        instrument.Piano(),
        tempo.MetronomeMark(number=120.01),
        key.Key("C"),
        meter.TimeSignature("4/4"),
        note.Rest(),
        note.Note("D4"),
        chord.Chord(["A3", "C4", "E4"]),
    ):
        s.append(el)
    assert (
        join_items(seed_items(s))
        == "Piano, tempo.MetronomeMark animato Quarter=120.01, C major, meter.TimeSignature 4/4, rest, D4, A3 C4 E4"
    )
    assert seed_name(key.KeySignature(2)) == "key.KeySignature of 2 sharps"
    from music21 import clef, metadata

    assert seed_name(clef.TrebleClef()) is None and seed_name(metadata.Metadata()) is None


def test_parser_keeps_valid_items_and_counts_the_rest() -> None:
    parsed = parse_text("tempo=96, Piano, f# minor, C#5 E4:0.5, H9:1.0, B4~2.0 B3:1.0, junk, rest:0.5, C4:0, E4,")
    assert parsed.total == 10
    assert parsed.skipped == ["H9:1.0", "junk", "C4:0"]
    assert parsed.valid == 7 and abs(parsed.valid_share - 0.7) < 1e-9
    assert parsed.tempos == [(0, 96.0)]
    onsets = [(n.onset, n.pitch, n.duration) for n in parsed.notes]
    assert onsets == [
        (0, 73, Fraction(1, 2)),
        (0, 64, Fraction(1, 2)),
        (Fraction(1, 2), 71, 2),
        (Fraction(1, 2), 59, 1),
        (2, 64, Fraction(1, 2)),  # a seed-format note lasts the default 0.5
    ]
    assert parsed.text == "tempo=96, Piano, f# minor, C#5 E4:0.5, B4~2.0 B3:1.0, rest:0.5, E4"


def test_seed_text_parses_with_default_lengths() -> None:
    parsed = parse_text(
        "Piano, tempo.MetronomeMark animato Quarter=120.01, C major, meter.TimeSignature 4/4, rest, D4, A3 C4 E4"
    )
    assert parsed.skipped == [] and parsed.valid == 7
    half = Fraction(1, 2)  # the rest and D4 each last the default 0.5
    assert [(n.onset, n.pitch) for n in parsed.notes] == [(half, 62), (1, 57), (1, 60), (1, 64)]


def test_a_tempo_midi_cannot_hold_is_skipped_as_an_invalid_item() -> None:
    """Under 4 bpm a quarter lasts more than set_tempo's 16,777,215 microseconds: it could not be exported."""
    parsed = parse_text("tempo=3, C4:1.0, tempo=4, D4:1.0")
    assert parsed.skipped == ["tempo=3"] and [t for _, t in parsed.tempos] == [4.0]
