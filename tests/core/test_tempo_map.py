"""One tempo rule for the writer, the statistics and the cursor: 120 bpm first, the last mark at an onset wins."""

from __future__ import annotations

from fractions import Fraction

import mido
import pytest

from musicgpt_gui.core.midi.midi_io import render_midi
from musicgpt_gui.core.music.notation import parse_text
from musicgpt_gui.core.music.tempo_map import TempoMap

TWO_MARKS_AT_ONE_ONSET = "tempo=140, tempo=60, C4:4.0, D4:4.0"


def test_last_mark_at_an_onset_wins_in_text_order() -> None:
    parsed = parse_text(TWO_MARKS_AT_ONE_ONSET)
    tempo_map = TempoMap.from_marks(parsed.tempos)
    assert tempo_map.marks == ((Fraction(0), 60.0),)
    assert tempo_map.seconds_at(8) == pytest.approx(8.0)
    assert tempo_map.quarters_at(4.0) == pytest.approx(4.0)


def test_exported_file_plays_the_same_tempo_as_the_map() -> None:
    midi = render_midi(TWO_MARKS_AT_ONE_ONSET)
    assert midi.length == pytest.approx(8.0, abs=1e-6)
    tempos = [msg.tempo for track in midi.tracks for msg in track if msg.type == "set_tempo"]
    assert tempos == [mido.bpm2tempo(60)]


def test_default_tempo_until_the_first_mark_and_round_trip() -> None:
    tempo_map = TempoMap.from_marks([(2, 60.0), (Fraction(4), 240.0)])
    assert tempo_map.seconds_at(2) == pytest.approx(1.0)  # two quarters at 120 bpm
    assert tempo_map.seconds_at(4) == pytest.approx(3.0)  # then two at 60
    assert tempo_map.seconds_at(8) == pytest.approx(4.0)  # then four at 240
    for q in (0, 0.5, 2, 3.25, 4, 7.9):
        assert tempo_map.quarters_at(tempo_map.seconds_at(q)) == pytest.approx(q)


def test_a_non_positive_tempo_is_refused() -> None:
    with pytest.raises(ValueError):
        TempoMap.from_marks([(0, 0.0)])


def test_marks_moved_onto_the_grid_keep_their_times_so_nothing_drifts() -> None:
    import random

    from musicgpt_gui.core.music.grid import snap_quarters

    rng = random.Random(3)
    marks = [(Fraction(0), 60.0)] + [
        (beat + Fraction(rng.choice([-19, -13, 13, 19]), 480), rng.choice([50.0, 90.0])) for beat in range(1, 400)
    ]
    exact = TempoMap.from_marks(marks)
    moved = exact.on_grid(lambda q: snap_quarters(q, 12))
    assert [onset for onset, _ in moved.marks] == list(range(400))
    assert max(abs(moved.seconds_at(onset) - exact.seconds_at(onset)) for onset, _ in moved.marks) < 0.002
    assert (
        max(abs(moved.seconds_at(b + Fraction(1, 2)) - exact.seconds_at(b + Fraction(1, 2))) for b in range(400)) < 0.03
    )
    naive = TempoMap.from_marks((snap_quarters(o, 12), bpm) for o, bpm in marks)
    assert max(abs(naive.seconds_at(b) - exact.seconds_at(b)) for b in range(400)) > 0.2  # moving marks alone drifts
