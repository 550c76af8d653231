"""Keep rhythm: a regenerated selection keeps every onset, length and part of the original, with new pitches
inside the key and range asked for; the same tiny model without it does not keep them (so the test can fail)."""
from __future__ import annotations

from fractions import Fraction

import mido
import pytest

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.sample.generation import GenerationSettings
from musicgpt_gui.core.model.sample.infill import infill, locate_beats, locate_items
from musicgpt_gui.core.model.steer.constraints import Steering
from musicgpt_gui.core.model.steer.keep_rhythm import rhythm_kept
from musicgpt_gui.core.model.steer.session import scale_for
from musicgpt_gui.core.music.notation import join_items, parse_text, split_items


@pytest.fixture(scope="module")
def piece(tiny_dataset) -> str:
    return join_items(split_items(dataset_files.load_split(tiny_dataset, dataset_files.TRAIN)[0])[:60])


def _regenerate(generator, piece, span, steering, seed=5):
    settings = GenerationSettings(length=40, temperature=1.2, top_k=0, variations=3, seed=seed, steering=steering)
    return infill(generator, piece, span, settings, candidates=1)


@pytest.mark.parametrize("where", ["beats", "items"])
def test_every_onset_and_length_is_kept_and_the_pitches_follow_key_and_range(fim_generator, piece, where) -> None:
    span = locate_beats(piece, 4, 16) if where == "beats" else locate_items(piece, 10, 30)
    steering = Steering(keep_rhythm=True, key="C major", low=55, high=79, max_voices=1)  # voices: fixed by the rhythm
    result = _regenerate(fim_generator, piece, span, steering)
    scale = scale_for(steering, "")
    end = span.onset + span.gap
    repitched = 0
    for v in result.variations:
        assert not v.parsed.skipped and len(v.parsed.items) == span.end - span.start
        found = rhythm_kept(piece, result.full_text(v.index), span.onset, end)
        assert found.notes > 0 and found.kept_notes == found.notes and found.kept_bars == found.bars, found
        assert all(55 <= n.pitch <= 79 and n.pitch % 12 in scale for n in v.parsed.notes)
        repitched += found.repitched
    assert repitched > 0
    assert any("were not applied" in w for w in result.warnings)  # max voices: named, not silently dropped
    # The baseline: the same model regenerating the same span with the same seed, held to the grammar alone.
    free = _regenerate(fim_generator, piece, span, Steering(grammar=True))
    lost = [rhythm_kept(piece, free.full_text(v.index), span.onset, end) for v in free.variations]
    assert any(f.kept_notes < f.notes for f in lost), "the free tiny model keeps the rhythm anyway: blind test"


def test_the_measure_sees_a_changed_length_a_moved_note_and_a_new_pitch() -> None:
    original = "C4 E4:1.0, G4~2.0:1.0, rest:1.0, A4:1.0"
    assert rhythm_kept(original, "D4 F4:1.0, B4~2.0:1.0, rest:1.0, A4:1.0", Fraction(0), Fraction(4)).kept_notes == 4
    moved = rhythm_kept(original, "D4:1.0, F4:1.0, B4~2.0:1.0, A4:1.0", Fraction(0), Fraction(4))
    assert moved.kept_notes < moved.notes and moved.kept_bars == 0
    held = rhythm_kept(original, "C4 E4:1.0, G4~1.0:1.0, rest:1.0, A4:1.0", Fraction(0), Fraction(4))
    assert (held.kept_notes, held.notes, held.repitched) == (3, 5, 0)


def test_keep_rhythm_is_for_a_selection_only(fim_generator) -> None:
    with pytest.raises(JobError, match="re-pitches a selection"):
        fim_generator.generate("C4:1.0, E4:1.0", GenerationSettings(length=10, steering=Steering(keep_rhythm=True)))


def test_the_cli_re_pitches_a_span_and_provenance_records_it(fim_run, piece, tmp_path, capsys) -> None:
    from musicgpt_gui.cli import main
    from musicgpt_gui.core.midi.midi_io import provenance_of

    workspace, run_dir = fim_run
    out = tmp_path / "kept.mid"
    code = main(["--workspace", str(workspace.root), "infill", "--run", run_dir.name, "--text", piece,
                 "--beats", "4:12", "--keep-rhythm", "--range", "C4:C5", "--seed", "2", "--temperature", "1.2",
                 "--out", str(out)])
    assert code == 0
    captured = capsys.readouterr()
    new = captured.out.strip()
    found = rhythm_kept(piece, new, Fraction(4), Fraction(12))
    assert found.kept_notes == found.notes > 0
    assert all(60 <= n.pitch <= 72 for n in parse_text(new).notes if 4 <= n.onset < 12)
    assert "keep rhythm:" in captured.err and f"{found.notes}/{found.notes} notes" in captured.err
    recorded = provenance_of(mido.MidiFile(out))["settings"]["steering"]
    assert recorded == {"low": "C4", "high": "C5", "keep_rhythm": True}


def test_the_template_writes_items_as_the_model_does_and_refuses_lengths_it_has_no_token_for(fim_generator) -> None:
    from musicgpt_gui.core.model.steer.keep_rhythm import FREE, template

    encoder = fim_generator.encoder
    notes, control = template(encoder, ["C4 E4~2:1", "tempo=90"])  # the tiny chorales' vocabulary has no rest
    assert [encoder.decode([t]) if t != FREE else "?" for t in notes.slots] == ["?", "?", "~2.0", ":1.0,"]
    assert notes.spaced[:2] == (True, True) and notes.other is None
    assert control.other == "tempo=90" and encoder.decode(list(control.slots)) == " tempo=90,"
    with pytest.raises(JobError, match="Keep rhythm"):
        template(encoder, ["C4:0.37"])
