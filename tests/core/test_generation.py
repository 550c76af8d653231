"""Generation from a tiny trained run: warmth, seeds, streaming, cancel, context limits, repair, memorization."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.dataset.metadata import load_metadata, write_metadata
from musicgpt_gui.core.model.sample.generation import (
    END_MARK,
    GenerationSettings,
    Generator,
    TokenEvent,
    _Stream,
    counted_text,
    normalise_prefix,
)
from musicgpt_gui.core.model.sample.prefixes import dataset_prefix
from musicgpt_gui.core.jobs import CancelToken, Cancelled, JobError
from musicgpt_gui.core.dataset.memorization import MemorizationIndex, MemorizedRun
from musicgpt_gui.core.music.notation import parse_text, split_items
from musicgpt_gui.core.model.sample.sampling import SamplingSettings, filter_logits, sample_token
from musicgpt_gui.core.model.sample.take_rules import cut_at_bar_line
from musicgpt_gui.core.model.steer.constraints import Steering
from tests.core.run_rewrite import rewritten_run

FAST = dict(temperature=1.0, top_k=0)


@pytest.fixture(scope="module")
def generator(tiny_run):
    g = Generator(checkpoints.resolve_checkpoint(tiny_run.run_dir, "latest"))
    yield g
    g.close()


@pytest.fixture(scope="module")
def eager_to_end(tiny_run, generator, tmp_path_factory) -> Generator:
    """A run whose every step puts ~25% on <|endoftext|> (final norm replaced by its embedding)."""
    eot = generator.encoder.eot

    def edit(values):
        wte = values["model/wte"]
        values["model/ln_f/g"][:] = 0.0
        values["model/ln_f/b"] = (7.0 * wte[eot] / np.dot(wte[eot], wte[eot])).astype(np.float32)

    target = tiny_run.workspace.checkpoint / "eot-run"
    rewritten_run(tiny_run.run_dir, target, edit)
    g = Generator(checkpoints.resolve_checkpoint(target))
    yield g
    g.close()


@pytest.mark.parametrize("edit", [{"n_ctx": 2048}, {"n_layer": 1}], ids=["shape", "fewer-layers"])
def test_a_checkpoint_that_does_not_fit_its_hparams_is_refused_plainly(tiny_run, tmp_path: Path, edit) -> None:
    import json

    run = shutil.copytree(tiny_run.run_dir, tmp_path / "mixed-up")
    hparams = json.loads((run / "hparams.json").read_text()) | edit
    (run / "hparams.json").write_text(json.dumps(hparams))
    generator = Generator(checkpoints.resolve_checkpoint(run))
    with pytest.raises(JobError, match="does not match its hparams.json"):
        generator.generate("C4:1.0,", GenerationSettings(length=2, seed=0))
    generator.close()


def test_same_seed_same_music_and_the_graph_stays_warm(generator) -> None:
    settings = GenerationSettings(length=24, variations=2, seed=1234, **FAST)
    first = generator.generate("C4:1.0, D4:0.5", settings)
    again = generator.generate("C4:1.0, D4:0.5", settings)
    other = generator.generate("C4:1.0, D4:0.5", GenerationSettings(length=24, variations=2, seed=99, **FAST))

    assert [v.tokens for v in first.variations] == [v.tokens for v in again.variations]
    assert [v.raw_text for v in first.variations] == [v.raw_text for v in again.variations]
    assert first.variations[0].tokens != first.variations[1].tokens
    assert first.variations[0].tokens != other.variations[0].tokens
    # 24 tokens, or up to twice that for a take with nothing to play at 24 (the empty-take rule)
    assert first.seed == 1234 and all(24 <= len(v.tokens) <= 48 for v in first.variations)
    generator.load(checkpoints.resolve_checkpoint(generator.checkpoint.run_dir, "latest"))
    generator.generate("E4:1.0", GenerationSettings(length=2, seed=1, **FAST))
    assert generator.loads == 1


def test_without_a_seed_the_result_reports_the_one_it_used(generator) -> None:
    result = generator.generate("", GenerationSettings(length=8, **FAST))
    replay = generator.generate("", GenerationSettings(length=8, seed=result.seed, **FAST))
    assert replay.variations[0].tokens == result.variations[0].tokens


def test_tokens_stream_in_order_and_add_up_to_the_output(generator) -> None:
    events: list[TokenEvent] = []
    result = generator.generate(
        "C4:1.0,", GenerationSettings(length=16, variations=3, seed=7, **FAST), on_token=events.append
    )
    sampled = [e for e in events if e.token >= 0]
    order = [(e.index, e.variation) for e in sampled]
    assert order == sorted(order)  # step by step, and variation by variation within a step
    for v in range(3):  # 16 steps, or up to twice that for a take with nothing to play at 16
        steps = [i for i, variation in order if variation == v]
        assert steps == list(range(len(steps))) and len(steps) <= 32
        assert len(steps) >= 16 or result.variations[v].stop_reason == "end"
    for v in result.variations:
        mine = [e for e in events if e.variation == v.index]
        assert [e.token for e in mine if e.token >= 0] == v.tokens
        assert "".join(e.text for e in mine) == v.raw_text


def test_cancel_stops_within_one_token(generator) -> None:
    cancel = CancelToken()
    seen: list[TokenEvent] = []

    def on_token(event: TokenEvent) -> None:
        seen.append(event)
        if len(seen) == 5:
            cancel.cancel()

    with pytest.raises(Cancelled):
        generator.generate("C4:1.0", GenerationSettings(length=200, seed=3, **FAST), on_token=on_token, cancel=cancel)
    assert len(seen) == 5
    assert generator.generate("C4:1.0", GenerationSettings(length=3, seed=3, **FAST)).variations[0].tokens


def test_generation_stops_at_endoftext_but_never_before_a_playable_item(eager_to_end) -> None:
    """The edited run puts ~25% on <|endoftext|> at every step: unchecked, most takes would end empty."""
    events: list[TokenEvent] = []
    result = eager_to_end.generate(
        "C4:1.0", GenerationSettings(length=300, variations=4, seed=5, **FAST), on_token=events.append
    )
    eot = eager_to_end.encoder.eot
    # Held to whole items (steering's grammar alone), the takes reach a playable item, then end.
    valid = eager_to_end.generate("C4:1.0", GenerationSettings(length=300, variations=4, seed=5,
                                                                steering=Steering(grammar=True), **FAST))
    assert all(v.stop_reason == "end" and v.parsed.notes for v in valid.variations)
    for v in result.variations:
        assert eot not in v.tokens and END_MARK not in v.raw_text
        if v.stop_reason == "end":
            assert v.parsed.notes, "a take ended before its first playable item"
            assert [e.token for e in events if e.variation == v.index][-1] == eot
            assert len([e for e in events if e.variation == v.index]) == len(v.tokens) + 1


def test_a_take_the_length_limit_ends_stops_at_a_bar_line(generator) -> None:
    prefix = "meter.TimeSignature 3/4, C4:1.0"
    result = generator.generate(prefix, GenerationSettings(length=120, variations=3, seed=9, **FAST))
    start = parse_text(prefix).length
    for v in result.variations:
        assert v.stop_reason == "length"
        if v.parsed.notes and v.parsed.length + start >= 3:  # it reached a bar line: it ends on one
            assert (start + v.parsed.length) % 3 == 0, v.text


def test_a_prefix_longer_than_the_trained_window_is_cut_from_the_left(generator) -> None:
    assert generator.context == 64 < generator.hparams.n_ctx  # tiny-run trained on 64-token windows
    items = [f"{n}{o}:0.5" for o in range(2, 6) for n in "CDEFGAB"]
    long_prefix = ", ".join(items * 4)
    assert len(generator.encoder.encode(long_prefix)) > generator.context
    result = generator.generate(long_prefix, GenerationSettings(length=4, seed=2, **FAST))
    assert result.warnings and "were cut" in result.warnings[0] and "64-token windows" in result.warnings[0]
    assert normalise_prefix(long_prefix).endswith(result.prefix) and len(result.prefix) < len(long_prefix)
    assert len(generator.encoder.encode(result.prefix)) <= 62 and 4 <= len(result.variations[0].tokens) <= 8


def test_generation_slides_within_the_trained_window(generator) -> None:
    result = generator.generate("C4:0.5, E4:0.5", GenerationSettings(length=150, variations=2, seed=4, **FAST))
    assert max(len(v.tokens) for v in result.variations) > generator.context and not result.warnings
    with generator.decoding(2) as decoder:
        assert decoder.length <= decoder.capacity <= generator.context  # no untrained position was read


def _run_with_history(tiny_run, target: Path, edit) -> Generator:
    shutil.copytree(tiny_run.run_dir, target)
    history = json.loads((target / "history.json").read_text())
    edit(history["settings"])
    (target / "history.json").write_text(json.dumps(history))
    return Generator(checkpoints.resolve_checkpoint(target))


def test_a_run_trained_at_all_positions_slides_past_n_ctx_with_a_warning(tiny_run, tmp_path) -> None:
    g = _run_with_history(tiny_run, tmp_path / "wide-run", lambda settings: settings.update(context=1024))
    try:
        assert g.context == g.hparams.n_ctx == 1024
        prefix = ", ".join(["C4:0.5", "E4:0.5", "G4:1.0"] * 400)
        result = g.generate(prefix, GenerationSettings(length=6, variations=2, seed=4, **FAST))
        assert any("sliding window" in w for w in result.warnings)
        assert all(6 <= len(v.tokens) <= 12 for v in result.variations)  # up to twice it: the empty-take rule
    finally:
        g.close()


def test_a_run_that_does_not_say_its_window_reads_the_default_one(tiny_run, tmp_path) -> None:
    def forget(settings) -> None:
        del settings["context"]
        del settings["window"]

    g = _run_with_history(tiny_run, tmp_path / "old-run", forget)
    g.close()
    assert g.context == 128  # recipe.NEW_MODEL's window: no untrained position is read
    (tmp_path / "old-run" / "history.json").write_text("{ damaged")
    assert checkpoints.trained_context(tmp_path / "old-run", {"n_vocab": 600, "n_ctx": 1024}) == 128
    assert checkpoints.trained_positions({"n_vocab": 50257, "n_ctx": 1024}, 128) == 1024  # pretrained GPT-2
    assert checkpoints.trained_positions({"n_vocab": 600, "n_ctx": 1024}, 128, earlier=256) == 256


def test_repair_statistics_describe_the_output(generator) -> None:
    result = generator.generate("C4:1.0, D4:0.5", GenerationSettings(length=60, variations=2, seed=11, **FAST))
    for v in result.variations:
        counted = counted_text(v.raw_text, v.stop_reason)
        valid = parse_text(counted).items
        cut = len(valid) - len(cut_at_bar_line(result.prefix, valid))  # valid items after the last bar line
        assert v.parsed.total == len(split_items(counted)) - cut
        assert v.valid_share == pytest.approx(v.parsed.valid / v.parsed.total if v.parsed.total else 0.0)
        assert parse_text(v.text).valid == v.parsed.valid and not parse_text(v.text).skipped
    assert result.full_text(0).startswith("C4:1.0, D4:0.5")


def test_counted_text_drops_only_an_unfinished_last_item() -> None:
    assert counted_text(" C4:1.0, D4:0.5, E4:0.", "length") == " C4:1.0, D4:0.5"
    assert counted_text(" C4:1.0, D4:0.5", "end") == " C4:1.0, D4:0.5"
    assert counted_text(" C4:1.", "length") == ""
    stats = parse_text(counted_text(" C4:1.0, H9:1.0, D4:0.5, junk, E4:0.5, F", "length"))
    assert (stats.valid, stats.total, stats.valid_share) == (3, 5, 0.6)


def test_the_stream_holds_back_a_possible_end_marker() -> None:
    stream = _Stream()
    assert stream.push("C4:1.0, <|end") == "C4:1.0, "
    assert stream.push("oftext|> D4") == ""
    assert stream.ended and stream.text == "C4:1.0, "
    stream = _Stream()
    assert stream.push("rest:1.0 <") == "rest:1.0 "
    assert stream.push("b") == "<b"


def test_prefix_normalisation() -> None:
    assert normalise_prefix("  C4:1.0, D4:0.5 ") == "C4:1.0, D4:0.5,"
    assert normalise_prefix(f"{END_MARK}C4:1.0,") == "C4:1.0,"
    assert normalise_prefix("") == ""


def test_prefix_from_the_opening_items_of_a_dataset_piece(tiny_dataset: Path) -> None:
    piece = dataset_files.load_split(tiny_dataset)[1]
    assert dataset_prefix(tiny_dataset, 1, 5) == ", ".join(split_items(piece)[:5])
    with pytest.raises(JobError, match="there is no piece 99"):
        dataset_prefix(tiny_dataset, 99, 5)


def test_memorized_runs_are_flagged_with_their_location(tiny_dataset: Path) -> None:
    index = MemorizationIndex.from_dataset(tiny_dataset)
    train = [split_items(p) for p in dataset_files.load_split(tiny_dataset, dataset_files.TRAIN)]
    copied = train[2][10:22]
    out = ["C4:7.0", "D4:7.0"] + copied + ["E4:7.0"] + train[0][:7]
    assert index.find(out) == [MemorizedRun(start=2, length=12, piece=2, piece_start=10)]
    assert index.find(train[1][:7]) == []


def test_the_index_of_a_dataset_is_rebuilt_only_when_its_training_split_changes(
    tiny_dataset: Path, tmp_path: Path
) -> None:
    folder = shutil.copytree(tiny_dataset, tmp_path / "copy")
    first = MemorizationIndex.from_dataset(folder)
    assert MemorizationIndex.from_dataset(folder) is first
    pieces = dataset_files.load_split(folder, dataset_files.TRAIN)
    dataset_files.write_rows(dataset_files.split_path(folder, dataset_files.TRAIN), pieces[:1])
    rebuilt = MemorizationIndex.from_dataset(folder)
    assert rebuilt is not first and len(rebuilt.pieces) == 1


def test_generation_result_carries_memorization_flags(generator, tiny_dataset: Path) -> None:
    pieces = ["C4:1.0, " * 3 + ", ".join(f"{n}4:0.5" for n in "CDEFGABC")]
    index = MemorizationIndex(pieces)
    result = generator.generate("C4:1.0", GenerationSettings(length=30, seed=5, **FAST), memorization=index)
    v = result.variations[0]
    assert v.memorized == index.find(v.parsed.items)


def test_settings_are_checked_with_plain_messages(generator) -> None:
    for bad, message in [
        (dict(length=0), "Length"),
        (dict(variations=0), "Variations"),
        (dict(temperature=-1), "Temperature"),
        (dict(top_k=-2), "Top-k"),
        (dict(top_p=1.5), "Top-p"),
        (dict(seed=-1), "seed"),
    ]:
        with pytest.raises(JobError, match=message):
            generator.generate("C4:1.0", GenerationSettings(**bad))
    with pytest.raises(JobError, match="No checkpoint"):
        Generator().generate("C4:1.0")


def test_sampling_filters() -> None:
    logits = np.array([1.0, 3.0, 2.0, 0.5])
    assert np.isfinite(filter_logits(logits, top_k=2)).tolist() == [False, True, True, False]
    probs = np.exp(logits) / np.exp(logits).sum()  # 0.09, 0.67, 0.24, 0.05
    assert np.isfinite(filter_logits(logits, top_p=0.5)).tolist() == [False, True, False, False]
    assert np.isfinite(filter_logits(logits, top_p=0.7)).tolist() == [False, True, True, False]
    assert probs[1] < 0.7 < probs[1] + probs[2]
    rng = np.random.default_rng(0)
    assert sample_token(logits, SamplingSettings(temperature=0), rng) == 1
    draws = {sample_token(logits, SamplingSettings(temperature=1.0, top_k=2), rng) for _ in range(200)}
    assert draws == {1, 2}


def test_cli_generates_prints_and_exports_with_provenance(tiny_run, tmp_path: Path, capsys) -> None:
    import mido

    from musicgpt_gui import cli
    from musicgpt_gui.core.midi.midi_io import provenance_of

    ws = str(tiny_run.workspace.root)
    argv = [
        "--workspace",
        ws,
        "generate",
        "--run",
        tiny_run.run,
        "--prefix",
        "C4:1.0, E4:1.0, G4:2.0",
        "--length",
        "12",
        "--seed",
        "21",
        "--variations",
        "2",
        "--valid-only",  # the noise model's takes hold notes only with whole, valid items
        "--out",
        str(tmp_path / "song.mid"),
    ]
    assert cli.main(argv) == 0
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("C4:1.0, E4:1.0, G4:2.0") for line in lines)
    assert "seed 21" in err and "variation 2:" in err and "items valid" in err
    provenance = provenance_of(mido.MidiFile(tmp_path / "song-2.mid"))
    assert provenance["run"] == tiny_run.run and provenance["seed"] == 21 and provenance["variation"] == 1

    assert cli.main(argv[:-2]) == 0
    assert capsys.readouterr().out == out  # same seed, same music


def test_cli_reports_bad_input_in_one_line(tiny_run, capsys) -> None:
    from musicgpt_gui import cli

    ws = str(tiny_run.workspace.root)
    assert cli.main(["--workspace", ws, "generate", "--run", "nope"]) == 1
    assert "no trained run named 'nope'" in capsys.readouterr().err
    assert cli.main(["--workspace", ws, "generate", "--run", tiny_run.run, "--prefix-piece", "bach"]) == 1
    assert "DATASET:ROW" in capsys.readouterr().err
    assert cli.main(["--workspace", ws, "generate", "--run", tiny_run.run, "--top-p", "2"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Top-p" in err


def test_prefix_from_a_midi_file_is_its_note_text(tmp_path: Path) -> None:
    from musicgpt_gui.core.model.sample.prefixes import midi_prefix
    from musicgpt_gui.core.midi.midi_io import export_midi

    source = "tempo=100, C4:1.0, E4 G4:0.5, rest:0.5, D4~2.0:1.0, F4:1.0"
    path = export_midi(source, tmp_path / "in.mid")
    assert midi_prefix(path, 40).endswith(source)
    opening = midi_prefix(path, 4)
    assert split_items(opening) == split_items(midi_prefix(path, 40))[:4]
    with pytest.raises(JobError, match="no MIDI file"):
        midi_prefix(tmp_path / "missing.mid", 4)
    (tmp_path / "bad.mid").write_bytes(b"not midi at all")
    with pytest.raises(JobError, match="Cannot read bad.mid as MIDI"):
        midi_prefix(tmp_path / "bad.mid", 4)


def test_cli_prefix_from_midi_and_from_a_dataset_piece(tiny_run, tiny_dataset: Path, tmp_path: Path, capsys) -> None:
    from musicgpt_gui import cli
    from musicgpt_gui.core.midi.midi_io import export_midi

    ws = tiny_run.workspace
    shutil.copytree(tiny_dataset, ws.datasets / "bach-tiny", dirs_exist_ok=True)
    midi = export_midi("tempo=90, G4:1.0, B4:1.0, D5:2.0", tmp_path / "p.mid")
    base = ["--workspace", str(ws.root), "generate", "--run", tiny_run.run, "--length", "4", "--seed", "3"]
    def printed(expected: str) -> bool:
        """The piece on stdout starts with the prefix, or (the noise model wrote no note) nothing is printed
        as music and stderr says so."""
        out = capsys.readouterr()
        return out.out.startswith(expected) or (out.out == "" and "the model wrote no note" in out.err)

    assert cli.main(base + ["--prefix-midi", str(midi), "--prefix-items", "4"]) == 0
    assert printed("Piano, tempo=90, G4:1.0, B4:1.0")
    assert cli.main(base + ["--prefix-piece", "bach-tiny:2", "--prefix-items", "3"]) == 0
    assert printed(dataset_prefix(tiny_dataset, 2, 3))


def test_a_midi_prefix_is_written_as_the_runs_dataset_was_converted(tiny_dataset: Path, tmp_path: Path) -> None:
    from musicgpt_gui.core.midi.midi_io import export_midi
    from musicgpt_gui.core.model.sample.prefixes import midi_prefix

    assert dataset_files.conversion_options(None).format == "timed"
    assert dataset_files.conversion_options(tiny_dataset).format == "timed"
    seed_folder = shutil.copytree(tiny_dataset, tmp_path / "seed-format")
    write_metadata(seed_folder, replace(load_metadata(seed_folder), format="seed", options={"tracks": "flat"}))
    assert dataset_files.conversion_options(seed_folder).format == "seed"
    fine_folder = shutil.copytree(tiny_dataset, tmp_path / "fine-grid")
    meta = load_metadata(fine_folder)
    write_metadata(fine_folder, replace(meta, options={**meta.options, "grid": 48, "velocity_bins": 4}))
    midi = export_midi("velocity=40, C4:0.25, velocity=120, D4:1/12, E4:1.0", tmp_path / "soft-loud.mid")
    seed = midi_prefix(midi, 10, dataset_files.conversion_options(seed_folder))
    assert seed.startswith("Piano, tempo.MetronomeMark animato Quarter=120, meter.TimeSignature 4/4, C4, rest, D4")
    fine = midi_prefix(midi, 10, dataset_files.conversion_options(fine_folder))
    assert fine == "Piano, tempo=120, velocity=48, C4:0.25, velocity=112, D4:1/12, E4:1.0"
    assert midi_prefix(midi, 10) == "Piano, tempo=120, C4:0.25, D4:1/12, E4:1.0"
    write_metadata(fine_folder, replace(meta, options={**meta.options, "velocity_bins": "many"}))
    with pytest.raises(JobError, match="metadata.json is damaged"):
        dataset_files.conversion_options(fine_folder)
