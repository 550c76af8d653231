"""What the sample tables show: each active control asked beside the value measured in the generated bars."""
from __future__ import annotations

from fractions import Fraction

from musicgpt_gui.core.model.steer.constraints import Steering
from musicgpt_gui.core.model.steer.measure import report, report_rows
from musicgpt_gui.core.model.steer.session import scale_for

PREFIX = "@1=Lead program=0, @2=Bass program=33, meter.TimeSignature 4/4, @1 D5 @2 D3:4.0"
TAKE = "@1 F5 A5 @2 D3:1.0, @1 E5 @2 A2:1.0, @1 D5 C#5:1.0, @2 D3:0.5, @1 A4:0.5, @1 D5 @2 D2:4.0"


def test_every_control_has_its_measured_value_beside_it() -> None:
    steering = Steering(key="D minor", chromatic_per_bar=1, low=38, high=84, max_voices=3, min_length=Fraction(1, 2),
                        no_triplets=True, no_repeat=4, parts=(1, 2), part_ranges=((2, 36, 50),),
                        part_voices=((1, 2),))
    text = f"{PREFIX}, {TAKE}"
    rows = {r.control: r for r in report_rows(text, Fraction(4), steering, scale_for(steering, ""))}
    assert list(rows) == ["key", "range", "range @2", "voices", "voices @1", "rhythm", "no repeats", "parts"]
    assert (rows["key"].asked, rows["key"].measured) == ("D minor (+1 chromatic/bar)", "D minor")
    assert (rows["range"].asked, rows["range"].measured) == ("D2:C6", "D2-A5")
    assert (rows["range @2"].asked, rows["range @2"].measured) == ("C2:D3", "D2-D3")
    assert rows["voices"].measured == "at most 2" and rows["voices @1"].measured == "at most 2"
    assert rows["rhythm"].measured == "shortest 0.5"
    assert rows["parts"].measured == "played 1,2"
    assert all(r.kept == "2/2 bars" for r in rows.values()), rows  # the take keeps all of them
    narrow = Steering(part_ranges=((1, 72, 84),), part_voices=((1, 1),))
    line = report(text, Fraction(4), narrow, None)
    assert line == "range @1 C5:C6: A4-A5, 1/2 bars; voices @1 <= 1: at most 2, 1/2 bars"


def test_keep_rhythm_reports_notes_and_bars_kept_over_the_selection() -> None:
    original = f"{PREFIX}, {TAKE}"
    repitched = original.replace("@1 F5 A5 @2 D3:1.0", "@1 G5 B-5 @2 E3:1.0")
    rows = report_rows(repitched, Fraction(4), Steering(keep_rhythm=True), None, Fraction(8), original)
    assert [(r.control, r.measured, r.kept) for r in rows] == [
        ("keep rhythm", "3 of 9 notes re-pitched", "9/9 notes and 1/1 bars kept")]
