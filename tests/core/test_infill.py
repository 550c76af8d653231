"""Infilling with a tiny FIM-trained run: spans, verbatim sides, the beat-length rule, streaming, cancel, CLI."""
from __future__ import annotations

import json
import shutil
from dataclasses import replace
from fractions import Fraction

import mido
import pytest

from musicgpt_gui.cli import main
from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.jobs import CancelToken, Cancelled, JobError
from musicgpt_gui.core.midi.midi_io import provenance_of
from musicgpt_gui.core.model.store import checkpoints, vocab
from musicgpt_gui.core.model.sample.generation import GenerationSettings, Generator
from musicgpt_gui.core.model.sample.infill import fit_to_gap, infill, locate_beats, locate_items
from musicgpt_gui.core.music.notation import join_items, parse_text, split_items

SETTINGS = GenerationSettings(length=40, temperature=1.0, top_k=0, variations=3, seed=7)


@pytest.fixture(scope="module")
def generator(fim_generator):
    return fim_generator


@pytest.fixture(scope="module")
def piece(tiny_dataset) -> str:
    return join_items(split_items(dataset_files.load_split(tiny_dataset, dataset_files.TRAIN)[0])[:50])


def test_spans_by_items_and_by_beats() -> None:
    text = "tempo=90,  C4:1.0, D4 F4:2.0,E4:0.5, rest:0.5, G4:1.0"
    span = locate_items(text, 2, 4)
    assert text[span.char_start : span.char_end] == "D4 F4:2.0,E4:0.5" and (span.onset, span.gap) == (1, Fraction(5, 2))
    beats = locate_beats(text, 1, 3.5)
    assert (beats.start, beats.end, beats.bounded) == (2, 4, True)
    for bad in ((0, 0), (3, 9), (-1, 2)):
        with pytest.raises(JobError, match="items"):
            locate_items(text, *bad)
    with pytest.raises(JobError, match="No item starts between beats 9 and 12"):
        locate_beats(text, 9, 12)


def test_a_middle_is_fitted_to_the_gap() -> None:
    assert fit_to_gap(["C4:1.0", "tempo=80", "D4:2.0", "E4:1.0"], Fraction(2)) == ["C4:1.0", "tempo=80", "D4:1.0"]
    assert fit_to_gap(["C4:0.5"], Fraction(20)) == ["C4:0.5", "rest:16.0", "rest:3.5"]
    assert fit_to_gap([], Fraction(1, 3)) == ["rest:1/3"]


def test_infill_keeps_both_sides_verbatim_and_the_suffix_in_time(generator, piece) -> None:
    span = locate_beats(piece, 4, 10)
    result = infill(generator, piece, span, SETTINGS)
    assert result.prefix == piece[: span.char_start] and result.suffix == piece[span.char_end :]
    assert result.prefix.endswith(", ") and result.suffix.startswith(", ")
    original = parse_text(piece)
    end = span.onset + span.gap
    after = sorted((n.onset, n.pitch) for n in original.notes if n.onset >= end)
    for v in result.variations:
        full = result.full_text(v.index)
        assert full.startswith(result.prefix) and full.endswith(result.suffix)
        middle = parse_text(result.middle_text(v.index))
        assert middle.skipped == [] and middle.valid > 0 and middle.length >= span.gap
        assert sum(Fraction(i.rpartition(":")[2] or 0) for i in middle.items if ":" in i) == span.gap
        new = parse_text(full)
        assert sorted((n.onset, n.pitch) for n in new.notes if n.onset >= end) == after


def test_same_seed_same_middles_streamed_token_by_token(generator, piece) -> None:
    span = locate_items(piece, 10, 20)
    events = []
    first = infill(generator, piece, span, SETTINGS, on_token=events.append)
    again = infill(generator, piece, span, SETTINGS)
    assert [v.raw_text for v in first.variations] == [v.raw_text for v in again.variations]
    assert first.sampled == 3 * SETTINGS.variations and first.chosen == again.chosen  # the best 3 joins of 9
    for v in first.variations:  # tokens stream for every middle sampled, by its sampled index
        assert "".join(e.text for e in events if e.variation == first.chosen[v.index]) == v.raw_text
        assert v.stop_reason in ("end", "length") and vocab.FIM_END not in v.raw_text
    other = infill(generator, piece, span, GenerationSettings(length=40, temperature=1.0, top_k=0, seed=8))
    assert other.variations[0].raw_text != first.variations[0].raw_text or other.variations[0].tokens == []


def test_cancel_stops_an_infill(generator, piece) -> None:
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        infill(generator, piece, locate_items(piece, 5, 9), SETTINGS, cancel=cancel)


def test_a_run_without_sentinels_is_refused_plainly(fim_run, tmp_path, piece) -> None:
    run = shutil.copytree(fim_run[1], tmp_path / "plain-run")
    table = json.loads((run / "encoder.json").read_text())
    (run / "encoder.json").write_text(json.dumps({k: v for k, v in table.items() if k not in vocab.FIM_TOKENS}))
    g = Generator(checkpoints.resolve_checkpoint(run))
    with pytest.raises(JobError, match="no fill-in-the-middle tokens"):
        infill(g, piece, locate_items(piece, 1, 3), SETTINGS)
    g.close()


def test_cli_infill_prints_each_piece_and_exports_the_span(fim_run, piece, tmp_path, capsys) -> None:
    workspace, run_dir = fim_run
    source = tmp_path / "piece.txt"
    source.write_text(piece.replace(", ", "\n", 5))
    out = tmp_path / "infill.mid"
    assert main(["--workspace", str(workspace.root), "infill", "--run", run_dir.name, "--in", str(source),
                 "--beats", "4:10", "--variations", "2", "--temperature", "1.0", "--top-k", "0", "--length", "40",
                 "--seed", "7", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    core = infill(Generator(checkpoints.resolve_checkpoint(run_dir)), piece, locate_beats(piece, 4, 10),
                  GenerationSettings(length=40, temperature=1.0, top_k=0, variations=2, seed=7))
    assert printed == [core.full_text(0), core.full_text(1)]
    recorded = provenance_of(mido.MidiFile(tmp_path / "infill-2.mid"))
    assert recorded["span"] == core.span.record() and recorded["seed"] == 7 and recorded["variation"] == 1
    assert (recorded["sampled"], recorded["chosen"]) == (6, core.chosen[1])  # which of the 6 middles sampled
    capsys.readouterr()
    assert main(["--workspace", str(workspace.root), "infill", "--run", run_dir.name, "--text", piece,
                 "--items", "4-9"]) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--items" in error and "A:B" in error


def test_in_context_is_the_middle_with_a_bar_either_side(generator) -> None:
    from musicgpt_gui.core.model.sample.infill import in_context

    bars = [f"{name}4:1.0" for name in "CDEFGABCDEFGABCD"]  # four 4/4 bars of quarter notes
    text = join_items(["tempo=72", "program=40", *bars])
    span = locate_beats(text, 8, 12)  # the third bar
    result = infill(generator, text, span, GenerationSettings(length=30, temperature=1.0, top_k=0, seed=3))
    played = split_items(in_context(result, 0))
    middle = result.variations[0].parsed.items
    assert played == ["tempo=72", "program=40", *bars[4:8], *middle, *bars[12:]]


def test_the_model_reads_only_its_trained_window_and_the_middle_slides(generator, piece) -> None:
    assert generator.context == 64 < generator.hparams.n_ctx
    span = locate_items(piece, 10, 40)
    result = infill(generator, piece, span, replace(SETTINGS, length=120, variations=4, seed=3))
    assert result.warnings and "64-token windows" in result.warnings[0]
    assert max(len(v.tokens) for v in result.variations) > generator.context  # the middle outgrew the window
    with generator.decoding(4) as decoder:
        assert decoder.length <= decoder.capacity <= generator.context
    for v in result.variations:
        full = result.full_text(v.index)
        assert full.startswith(result.prefix) and full.endswith(result.suffix)


def test_a_bounded_middle_is_never_ended_early_by_the_model(fim_run, generator, piece) -> None:
    """A run rewritten to put most of every step on <|fim_end|>: chosen in beats, the middle still fills its gap."""
    import numpy as np

    from tests.core.run_rewrite import rewritten_run

    end = generator.encoder.specials[vocab.FIM_END]

    def edit(values):
        wte = values["model/wte"]
        values["model/ln_f/g"][:] = 0.0
        values["model/ln_f/b"] = (9.0 * wte[end] / np.dot(wte[end], wte[end])).astype(np.float32)

    eager = Generator(checkpoints.resolve_checkpoint(rewritten_run(fim_run[1], fim_run[0].checkpoint / "eager-end",
                                                                   edit)))
    try:
        by_items = infill(eager, piece, locate_items(piece, 10, 20), SETTINGS)
        assert all(v.stop_reason == "end" for v in by_items.variations)  # the model does want to stop
        span = locate_beats(piece, 4, 10)
        result = infill(eager, piece, span, replace(SETTINGS, length=200))
        for v in result.variations:
            assert v.stop_reason in ("beats", "length") and len(v.tokens) > 0
            assert not set(v.tokens) & set(eager.encoder.specials.values())
    finally:
        eager.close()



def test_the_variations_kept_are_the_best_joins_of_three_times_as_many(generator, piece) -> None:
    from musicgpt_gui.core.model.sample import join_rank
    from musicgpt_gui.core.music.notation import SEP

    span = locate_beats(piece, 4, 10)
    ranked = infill(generator, piece, span, SETTINGS)
    plain = infill(generator, piece, span, replace(SETTINGS, variations=9), candidates=1)
    assert ranked.sampled == 9 and plain.sampled == 9 and sorted(plain.chosen) == list(range(9))  # best first
    sampled = [plain.variations[plain.chosen.index(k)] for k in range(9)]
    enc, items = generator.encoder, split_items(piece)
    middles = [enc.encode(" " + v.parsed.text + SEP.strip()) for v in sampled]
    head = join_rank.join_head(enc, items[span.end :], items[: span.start], generator.context)
    with generator.decoding(9) as decoder:
        nats = join_rank.join_nats(decoder, [enc.eot] + enc.encode(join_items(items[: span.start]) + ","), middles,
                                   head, generator.context)
    assert ranked.chosen == join_rank.best_first(nats, 3)
    assert [v.parsed.text for v in ranked.variations] == [sampled[k].parsed.text for k in ranked.chosen]
    assert [v.index for v in ranked.variations] == [0, 1, 2]
    at_end = infill(generator, piece, locate_items(piece, 45, 50), SETTINGS)
    assert at_end.sampled == 3 and at_end.chosen == [0, 1, 2]  # nothing follows: nothing to lead into
    with pytest.raises(JobError, match="at least 1 middle"):
        infill(generator, piece, span, SETTINGS, candidates=0)
