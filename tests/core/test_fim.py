"""Fill-in-the-middle training: sentinels in the vocabulary, cuts on element boundaries and bar lines, a run."""
from __future__ import annotations

import json

import numpy as np
import pytest

from musicgpt_gui.cli import main
from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.train import fim
from musicgpt_gui.core.model.store import run_store, vocab
from musicgpt_gui.core.model.train.training import TrainConfig, train
from musicgpt_gui.core.model.train.training_data import encode_pieces


@pytest.fixture(scope="module")
def encoder(tiny_model):
    return vocab.load_encoder(tiny_model[1].path)


@pytest.fixture(scope="module")
def stream(tiny_dataset, encoder) -> np.ndarray:
    return encode_pieces(dataset_files.load_split(tiny_dataset, dataset_files.TRAIN), encoder)


def test_a_new_model_has_the_sentinels_as_single_ids_and_they_round_trip(tiny_model, encoder) -> None:
    table, _ = vocab.read_vocab(tiny_model[1].path)
    ids = [table[t] for t in vocab.FIM_TOKENS]
    assert ids == list(range(len(table) - 4, len(table))) and tiny_model[1].hparams["n_vocab"] == len(table)
    text = (f"{vocab.FIM_PREFIX}tempo=96, C4:1.0,{vocab.FIM_SUFFIX} G4:2.0{vocab.EOT}{vocab.FIM_MIDDLE} E4:1.0,"
            f"{vocab.FIM_END}")
    encoded = encoder.encode(text)
    assert [t for t in encoded if t in ids] == ids and encoded.count(encoder.eot) == 1
    assert encoder.decode(encoded) == text


def test_bar_lines_follow_time_signatures_and_skip_text_without_durations() -> None:
    items = ["meter.TimeSignature 3/4", "C4:1.0", "D4:1.0", "E4:1.0", "tempo=80", "F4:2.0", "G4:1.0", "A4:1.0"]
    assert fim.bar_cuts(items) == {4, 7}  # after E4 (beat 3) and after G4 (beat 6); controls open a bar
    assert fim.bar_cuts(["C4:2.0", "D4:2.0", "E4:4.0"]) == {2}  # 4/4 before any time signature
    assert fim.bar_cuts(["C4", "D4", "E4", "F4", "G4"]) == set()


def test_both_orders_put_the_sentinels_around_the_same_parts() -> None:
    ids = [100, 101, 102, 103]
    assert fim.arrange("psm", ids, [1, 2], [5], [3, 4]) == [100, 1, 2, 101, 5, 102, 3, 4, 103]
    assert fim.arrange("spm", ids, [1, 2], [5], [3, 4]) == [100, 101, 5, 102, 1, 2, 3, 4, 103]
    assert fim.arrange("spm", ids, [1, 2], [5]) == [100, 101, 5, 102, 1, 2]  # what a middle follows
    with pytest.raises(JobError, match="Unknown FIM order"):
        fim.arrange("pms", ids, [], [])


def test_examples_are_the_window_rearranged_at_item_boundaries(stream, encoder) -> None:
    sampler = fim.FimSampler(stream, encoder, rate=1.0)
    pre, suf, mid, end = sampler.ids
    rng = np.random.default_rng(0)
    orders, on_bars = set(), 0
    for start in rng.integers(0, len(stream) - 200, size=40):
        window = stream[start : start + 124]
        example = sampler.example(int(start), len(window), rng)
        assert example is not None and len(example) == len(window) + 4
        assert example[0] == pre and example[-1] == end
        s, m = int(np.flatnonzero(example == suf)[0]), int(np.flatnonzero(example == mid)[0])
        if s == 1:  # SPM: the suffix first, then prefix and middle as one run
            suffix, rest = example[2:m], example[m + 1 : -1]
            assert np.array_equal(np.concatenate([rest, suffix]), window)
            orders.add("spm")
        else:
            prefix, suffix, middle = example[1:s], example[s + 1 : m], example[m + 1 : -1]
            assert np.array_equal(np.concatenate([prefix, middle, suffix]), window)
            assert encoder.eot not in middle and len(middle) > 0
            prefix_text = encoder.decode(prefix)
            assert prefix_text.endswith(",") or prefix_text.endswith(vocab.EOT)  # cut after an item's separator
            assert encoder.decode(middle).startswith(" ") or prefix_text.endswith(vocab.EOT)
            orders.add("psm")
        cut = int(start) + len(window) - len(suffix)
        assert sampler.item_cut[cut] and (encoder.decode(suffix).startswith(" ") or stream[cut] == encoder.eot)
        on_bars += bool(sampler.bar_cut[cut])
    assert orders == {"psm", "spm"}
    assert on_bars >= 30  # Bach chorales have bar lines in almost every window


def test_transform_keeps_the_rate_and_a_vocabulary_without_sentinels_is_refused(stream, encoder) -> None:
    sampler = fim.FimSampler(stream, encoder, rate=0.5)
    rng = np.random.default_rng(1)
    starts = rng.integers(0, len(stream) - 64, size=200)
    batch = np.stack([stream[s : s + 64] for s in starts])
    out = sampler.transform(batch, starts, rng)
    changed = out[:, 0] == sampler.ids[0]
    assert 0.35 < changed.mean() < 0.65 and np.array_equal(out[~changed], batch[~changed])
    ends = [int(np.flatnonzero(row == sampler.ids[3])[0]) for row in out[changed]]
    assert len(set(ends)) >= 20 and min(ends) < 40  # <|fim_end|> is not always the last token
    for row, end, original in zip(out[changed], ends, batch[changed], strict=True):
        assert np.array_equal(row[end + 1 :], original[end - 3 : 60])  # then the window goes on as plain text
    plain = {k: v for k, v in encoder.bpe.encoder.items() if k not in vocab.FIM_TOKENS}
    with pytest.raises(JobError, match="no fill-in-the-middle tokens"):
        fim.FimSampler(stream, vocab.make_encoder(plain, []), rate=0.5)
    with pytest.raises(JobError, match="0 to 1"):
        fim.check_rate(1.5)


def test_cli_trains_with_fim_in_gpt2_simple_layout(tiny_model, tiny_dataset) -> None:
    workspace, model = tiny_model
    assert main(["--workspace", str(workspace.root), "train", "--base", model.name, "--dataset", str(tiny_dataset),
                 "--run", "fim-cli", "--steps", "3", "--batch-size", "2", "--window", "64", "--fim", "0.5",
                 "--sample-every", "0", "--validate-every", "0"]) == 0
    run_dir = workspace.checkpoint / "fim-cli"
    assert {"encoder.json", "vocab.bpe", "hparams.json", "checkpoint"} <= {p.name for p in run_dir.iterdir()}
    assert (run_dir / "model-3.index").is_file()
    assert run_store.History.load(run_dir).settings["fim_rate"] == 0.5
    assert main(["--workspace", str(workspace.root), "train", "--run", "fim-cli", "--resume", "--steps", "1",
                 "--batch-size", "2", "--window", "64", "--sample-every", "0", "--validate-every", "0"]) == 0
    assert run_store.History.load(run_dir).settings["fim_rate"] == 0.5  # a resumed run keeps its rate
    assert json.loads((run_dir / "hparams.json").read_text())["n_vocab"] == vocab.load_encoder(run_dir).n_vocab


def test_a_bad_rate_is_a_clear_error(tiny_model, tiny_dataset) -> None:
    workspace, model = tiny_model
    cfg = TrainConfig(workspace=workspace, dataset=tiny_dataset, base=model.name, run="fim-bad", fim_rate=-0.1)
    with pytest.raises(JobError, match="FIM rate"):
        train(cfg)
