"""Musical metrics on texts whose answers are known: a C major scale, a chromatic line, a repeated phrase."""
from __future__ import annotations

import pytest

from musicgpt_gui.core.quality import metrics, report

C_MAJOR = ", ".join(f"{n}:1.0" for n in ("C4", "D4", "E4", "F4", "G4", "A4", "B4", "C5"))
CHROMATIC = ", ".join(f"{n}:1.0" for n in ("C4", "C#4", "D4", "E-4", "E4", "F4", "F#4", "G4", "G#4", "A4", "B-4", "B4"))


def test_c_major_scale_is_in_key_and_clear():
    m = metrics.text_metrics(C_MAJOR)
    assert m.key == "C major"
    assert m.in_scale == 1.0
    assert m.key_clarity > 0.7
    assert m.notes == 8 and m.pitch_range == 12 and m.notes_per_beat == pytest.approx(1.0)
    assert m.polyphony == pytest.approx(1.0) and m.repeated_phrases == 0.0


def test_chromatic_line_has_no_key():
    scale, line = metrics.text_metrics(C_MAJOR), metrics.text_metrics(CHROMATIC)
    assert line.key_clarity < 0.2 < scale.key_clarity
    assert line.in_scale <= 9 / 12 < scale.in_scale  # a minor key's scale has 9 pitch classes here
    flat = [1 / 12] * 12
    assert metrics.histogram_distance(line.pitch_classes, flat) == pytest.approx(0.0)
    assert metrics.histogram_distance(scale.pitch_classes, flat) > 0.2


def test_minor_keys_allow_the_raised_sixth_and_seventh():
    harmonic = ", ".join(f"{n}:1.0" for n in ("A3", "B3", "C4", "D4", "E4", "F4", "G#4", "A4", "E4", "A3:2.0"))
    m = metrics.text_metrics(harmonic)
    assert m.key == "A minor" and m.in_scale == 1.0


def test_chords_polyphony_and_repeated_phrases():
    phrase = "C4 E4 G4:1.0, D4 F4 A4:1.0, E4 G4 B4:1.0, C4 E4 G4:1.0"
    m = metrics.text_metrics(", ".join([phrase] * 3))
    assert m.polyphony == pytest.approx(3.0)
    # 12 onsets give 9 four-onset phrases; the first 4 are new, the 5 after them repeat earlier ones.
    assert m.repeated_phrases == pytest.approx(5 / 9)


def test_mean_metrics_and_table(tmp_path):
    refs = report.reference_metrics([C_MAJOR, CHROMATIC, "rest:1.0"], [C_MAJOR])
    report.store_references(tmp_path, {label: m.as_dict() for label, m in refs.items()})
    valid = refs[report.VALIDATION]
    assert valid.pieces == 2 and valid.in_scale == pytest.approx((1.0 + 7 / 12) / 2, abs=0.1)
    sample = report.record_sample(tmp_path, 100, CHROMATIC)
    assert sample.pc_distance is not None and sample.pc_distance > 0
    stored = report.load(tmp_path)
    assert set(stored["references"]) == {report.VALIDATION, report.NGRAM} and "100" in stored["samples"]
    text = report.table([("sample 100", report.from_dict(stored["samples"]["100"])), ("empty", metrics.Metrics())])
    assert "clarity" in text.splitlines()[0] and "–" in text.splitlines()[2]
