"""Form: a take written as sections (AABA) -- each new letter generated after the sections before it, each
letter that comes back the first one's items again -- through core, provenance and the CLI."""
from __future__ import annotations

import pytest

from musicgpt_gui.cli import main
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.midi.midi_io import provenance_of
from musicgpt_gui.core.model import workflows
from musicgpt_gui.core.model.sample.generation import GenerationSettings, Generator
from musicgpt_gui.core.model.steer.constraints import Steering
from musicgpt_gui.core.model.steer.form import Form, first_bars, write_form
from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.core.music.notation import join_items, parse_text, split_items
from musicgpt_gui.core.quality.metrics import text_metrics

FOUR_FOUR = "meter.TimeSignature 4/4"


def test_a_form_reads_letters_and_says_what_is_wrong() -> None:
    assert Form.parse("aab a", 2) == Form("AABA", 2)
    assert Form.parse("  ") is None
    for text, bars, says in (("A1B", 4, "section letters"), ("A" * 17, 4, "at most 16"), ("AB", 0, "1 to 32"),
                             ("ÄB", 4, "section letters")):
        with pytest.raises(JobError, match=says):
            Form.parse(text, bars)


def test_first_bars_stop_at_the_bar_line_that_closes_the_last_bar() -> None:
    items = ["C4:1.0", "D4:1.0", "E4:2.0", "F4:4.0", "G4:2.0", "A4:2.0"]
    assert first_bars(FOUR_FOUR, items, 1) == (items[:3], 1)
    assert first_bars(FOUR_FOUR, items, 2) == (items[:4], 2)
    assert first_bars(FOUR_FOUR, items, 9) == (items, 3)
    # an item holding over the bar line is cut at it, its notes still sounding their length
    held = ["C4:3.0", "D4 E4~0.5:2.0", "rest:1.0"]
    assert first_bars(FOUR_FOUR, held, 1) == (["C4:3.0", "D4~2.0 E4~0.5:1.0"], 1)
    assert first_bars(FOUR_FOUR, ["C4:1.0", "rest:10.0", "E4:1.0"], 2) == (["C4:1.0", "rest:7.0"], 2)
    assert [n.duration for n in parse_text("D4~2.0 E4~0.5:1.0").notes] == [2, 0.5]
    # after a prefix that ends mid-bar, the first bar line comes sooner; a control item at it counts no bar
    assert first_bars(FOUR_FOUR + ", C4:2.0", ["D4:2.0", "tempo=90", "E4:4.0"], 1) == (["D4:2.0"], 1)
    assert first_bars(FOUR_FOUR + ", C4:2.0", ["D4:2.0", "tempo=90", "E4:4.0"], 2) == (
        ["D4:2.0", "tempo=90", "E4:4.0"], 2)


def test_write_form_generates_each_new_letter_once_and_repeats_the_first_one() -> None:
    calls: list[str] = []

    def write(so_far: str, call: int) -> list[str]:
        calls.append(so_far)
        note = ["C4", "E4", "G4", "B4"][call % 4]
        return [f"{note}:2.0"] * 5  # 2.5 bars of 4/4: the section is cut at its second bar line

    items, sections = write_form(Form("AABA", 2), FOUR_FOUR, write)
    assert [(s.letter, s.repeat) for s in sections] == [("A", False), ("A", True), ("B", False), ("A", True)]
    assert len(calls) == 2  # A and B, each in one call
    assert calls[1] == join_items([FOUR_FOUR, *["C4:2.0"] * 8])  # B is written after A A
    a = items[sections[0].start:sections[0].end]
    assert a == ["C4:2.0"] * 4 and items[sections[3].start:sections[3].end] == a
    assert items[sections[2].start:sections[2].end] == ["E4:2.0"] * 4

    # a section that comes back short is written on in further calls, then kept as it is
    short: list[int] = []

    def stingy(so_far: str, call: int) -> list[str]:
        short.append(call)
        return ["D4:4.0"] if call < 2 else []

    items, sections = write_form(Form("AB", 2), FOUR_FOUR, stingy)
    assert items == ["D4:4.0", "D4:4.0"] and short == [0, 1, 2]
    assert sections[1].start == sections[1].end == 2


def test_a_form_take_repeats_its_sections_and_provenance_records_the_form(pop_songs, tmp_path) -> None:
    ref = checkpoints.resolve_checkpoint(pop_songs.workspace.checkpoint / pop_songs.run)
    generator = Generator()
    settings = GenerationSettings(length=48, variations=2, seed=5, steering=Steering(grammar=True))
    try:
        prefix = workflows.ensemble_prefix("", "auto", pop_songs.dataset)
        result = workflows.generate_for_run(generator, ref, prefix, settings, form=Form("ABA", 1))
        again = workflows.generate_for_run(generator, ref, prefix, settings, form=Form("ABA", 1))
    finally:
        generator.close()
    assert [v.text for v in result.variations] == [v.text for v in again.variations]  # seeded: the same takes
    assert result.variations[0].text != result.variations[1].text
    for v, sections in zip(result.variations, result.sections):
        items = split_items(v.text)
        assert [s.letter for s in sections] == ["A", "B", "A"]
        first, last = sections[0], sections[2]
        assert items[first.start:first.end] == items[last.start:last.end] and first.end > first.start
        full = parse_text(result.full_text(v.index))
        assert full.notes and len(full.parts) == 3
    for v, sections in zip(result.variations, result.sections):  # a section of 4 onsets or more repeats a phrase
        a = split_items(v.text)[sections[0].start:sections[0].end]
        if len({n.onset for n in parse_text(join_items(a)).notes}) >= 4:
            assert text_metrics(result.full_text(v.index)).repeated_phrases > 0
    record = workflows.provenance(result, 0)
    assert record["form"] == {"form": "ABA", "section_bars": 1}
    midi = workflows.export_variation(result, 0, tmp_path / "form.mid")
    import mido

    assert provenance_of(mido.MidiFile(midi))["form"] == record["form"]


def test_the_cli_writes_the_same_form_and_refuses_a_bad_one(pop_songs, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MUSICGPT_WORKSPACE", str(pop_songs.workspace.root))
    args = ["generate", "--run", pop_songs.run, "--length", "40", "--variations", "1", "--seed", "4", "--valid-only"]
    assert main([*args, "--form", "AAB", "--section-bars", "1"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("@1=MELODY program=0")
    assert main([*args, "--form", "A-B"]) == 1
    assert "section letters" in capsys.readouterr().err
