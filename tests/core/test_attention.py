"""Exact attention from a trained checkpoint, checked against an independent numpy GPT-2."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from musicgpt_gui.core.model.store import gpt2_backend
from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.core.model.inspect.attention import AttentionModel, pool_items, save_npz, token_items
from musicgpt_gui.core.jobs import CancelToken, Cancelled, JobError
from musicgpt_gui.core.music.notation import split_items


def numpy_gpt2_attention(prefix: str, hparams: dict, ids: list[int]) -> np.ndarray:
    """GPT-2's forward pass in float64 numpy from the checkpoint's variables; returns [L, H, T, T]."""
    return numpy_gpt2(prefix, hparams, ids)[0]


def numpy_gpt2(prefix: str, hparams: dict, ids: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GPT-2's forward pass in float64 numpy: attention [L, H, T, T], queries and keys [L, H, T, head size]."""
    import tensorflow as tf

    reader = tf.train.load_checkpoint(prefix)
    get = lambda name: reader.get_tensor(f"model/{name}").astype(np.float64)  # noqa: E731
    n_head, t = hparams["n_head"], len(ids)

    def norm(x, scope):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-5) * get(f"{scope}/g") + get(f"{scope}/b")

    def dense(x, scope):
        return x @ get(f"{scope}/w")[0] + get(f"{scope}/b")

    def heads(x):  # [T, E] -> [H, T, E/H]
        return x.reshape(t, n_head, -1).transpose(1, 0, 2)

    h = get("wte")[ids] + get("wpe")[:t]
    causal = np.tril(np.ones((t, t), dtype=bool))
    layers, queries, keys = [], [], []
    for layer in range(hparams["n_layer"]):
        scope = f"h{layer}"
        q, k, v = map(heads, np.split(dense(norm(h, f"{scope}/ln_1"), f"{scope}/attn/c_attn"), 3, axis=-1))
        scores = np.where(causal, q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1]), -np.inf)
        weights = np.exp(scores - scores.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        layers.append(weights)
        queries.append(q)
        keys.append(k)
        mixed = (weights @ v).transpose(1, 0, 2).reshape(t, -1)
        h = h + dense(mixed, f"{scope}/attn/c_proj")
        x = dense(norm(h, f"{scope}/ln_2"), f"{scope}/mlp/c_fc")
        gelu = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
        h = h + dense(gelu, f"{scope}/mlp/c_proj")
    return np.stack(layers), np.stack(queries), np.stack(keys)


@pytest.fixture(scope="module")
def ref(tiny_run):
    return checkpoints.resolve_checkpoint(tiny_run.run_dir, "latest")


@pytest.fixture(scope="module")
def model(ref):
    m = AttentionModel(ref)
    yield m
    m.close()


@pytest.fixture(scope="module")
def piece(tiny_dataset: Path) -> str:
    from musicgpt_gui.core.dataset import dataset_files

    return ", ".join(split_items(dataset_files.load_split(tiny_dataset, dataset_files.VALID)[0])[:12])


def test_weights_equal_an_independent_numpy_gpt2(model, ref, piece: str) -> None:
    result = model.compute(piece)
    hparams = json.loads((ref.run_dir / "hparams.json").read_text())
    expected = numpy_gpt2_attention(ref.prefix, hparams, result.token_ids)

    t = len(result.token_ids)
    assert result.attention.shape == (hparams["n_layer"], hparams["n_head"], t, t) == expected.shape
    assert np.abs(result.attention - expected).max() < 1e-4
    assert np.allclose(result.attention.sum(-1), 1.0, atol=1e-5)
    assert np.all(np.triu(result.attention, k=1) == 0.0)
    assert result.token_ids[0] == model.encoder.eot and result.tokens[0] == "<|endoftext|>"
    assert "".join(result.tokens) == result.text == "<|endoftext|>" + piece


def test_weights_are_the_softmax_inside_attn_not_past_times_present(model) -> None:
    import tensorflow as tf
    from gpt_2_simple.src import model as gpt2

    graph = tf.Graph()
    with graph.as_default():
        gpt2.model(hparams=model.hparams, X=tf.compat.v1.placeholder(tf.int32, [1, None]))
        found = [gpt2_backend.softmax_tensor(graph, i).name for i in range(model.hparams.n_layer)]
    assert found == [f"model/h{i}/attn/truediv:0" for i in range(model.hparams.n_layer)]


def test_the_graph_stays_warm_and_reloads_only_for_another_checkpoint(tiny_run, model, ref) -> None:
    model.compute("C4:1.0, D4:0.5")
    model.load(checkpoints.resolve_checkpoint(tiny_run.run_dir, "latest"))
    model.compute("E4:1.0")
    assert model.loads == 1
    best = checkpoints.resolve_checkpoint(tiny_run.run_dir, "best")
    assert best.prefix != ref.prefix
    try:
        model.load(best)
        assert model.compute("E4:1.0").checkpoint["which"] == "best"
        assert model.loads == 2
    finally:
        model.load(ref)  # the module's other tests expect the latest checkpoint


def test_pooling_gives_one_row_and_column_per_item(model) -> None:
    text = "<|endoftext|>tempo=96, C#5 E4 A3:0.5, rest:1/3, B4~2.0 G#2:1.0,"
    result = model.compute(text)
    pooled = pool_items(result.tokens, result.attention)

    assert pooled.items == ["<|endoftext|>", "tempo=96", "C#5 E4 A3:0.5", "rest:1/3", "B4~2.0 G#2:1.0"]
    n = len(pooled.items)
    assert pooled.attention.shape == result.attention.shape[:2] + (n, n)
    assert np.allclose(pooled.attention.sum(-1), 1.0, atol=1e-5)
    assert np.all(np.triu(pooled.attention, k=1) == 0.0)
    owners = np.array(pooled.token_items)
    assert np.all(np.diff(owners) >= 0) and set(owners) == set(range(n))
    # the rule: columns summed over an item's tokens, rows averaged over its tokens
    rows, cols = owners == 2, owners == 1
    manual = result.attention[1, 0][rows][:, cols].sum(-1).mean()
    assert pooled.attention[1, 0, 2, 1] == pytest.approx(manual, abs=1e-6)


@pytest.mark.parametrize(
    "tokens, items, owners",
    [
        (["C4", ":1.0,", " D4", ":0.5"], ["C4:1.0", "D4:0.5"], [0, 0, 1, 1]),
        ([",", " ", "C4", ",", " rest", ":1.0"], ["C4", "rest:1.0"], [0, 0, 0, 0, 1, 1]),
        (["<|endoftext|>", "A", "3 C", "4:0.5"], ["<|endoftext|>", "A3 C4:0.5"], [0, 1, 1, 1]),
    ],
)
def test_tokens_map_to_the_item_of_their_first_character(tokens, items, owners) -> None:
    assert token_items(tokens) == (items, owners)


def test_npz_export_keeps_tokens_weights_and_identity(model, tmp_path: Path) -> None:
    result = model.compute("C4:1.0, D4:0.5, E4:2.0", start=False)
    pooled = pool_items(result.tokens, result.attention)
    path = save_npz(tmp_path / "out" / "attention.npz", result, pooled)
    with np.load(path) as data:
        assert list(data["tokens"]) == result.tokens
        assert np.array_equal(data["attention"], result.attention)
        assert list(data["items"]) == pooled.items == ["C4:1.0", "D4:0.5", "E4:2.0"]
        assert np.array_equal(data["item_attention"], pooled.attention)
        identity = json.loads(str(data["checkpoint"]))
    assert identity["run"] == "tiny-run" and identity["checkpoint"].startswith("model-")
    assert identity["hparams"]["n_layer"] == result.attention.shape[0]


def test_text_longer_than_the_trained_window_keeps_its_end(model) -> None:
    assert model.context == 64 < model.hparams.n_ctx  # tiny-run trained on 64-token windows
    text = ", ".join(["C4:0.5", "D4:0.5", "rest:0.25"] * 700)
    result = model.compute(text, start=False)
    assert result.attention.shape[-1] == 64
    assert result.warnings and "last 64 (the 64-token windows it was trained on)" in result.warnings[0]
    assert text.endswith(result.text)


def test_bad_input_gets_a_plain_message(model, tiny_run) -> None:
    with pytest.raises(JobError, match="no text"):
        model.compute(" ")
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        model.compute("C4:1.0", cancel=token)
    with pytest.raises(JobError, match="no trained run named 'nope'"):
        checkpoints.run_folder(tiny_run.workspace, "nope")
    with pytest.raises(JobError, match="Unknown checkpoint"):
        checkpoints.resolve_checkpoint(tiny_run.run_dir, "oldest")


def test_cli_writes_page_and_npz_per_note(tiny_run, tmp_path: Path, capsys) -> None:
    from musicgpt_gui import cli

    argv = ["--workspace", str(tiny_run.workspace.root), "attention", "--run", tiny_run.run, "--text",
            "C4:1.0, D4 F4:0.5, rest:0.25", "--pool", "notes", "--layer", "1",
            "--html", str(tmp_path / "a.html"), "--npz", str(tmp_path / "a.npz")]
    assert cli.main(argv) == 0
    with np.load(tmp_path / "a.npz") as data:
        assert list(data["items"]) == ["<|endoftext|>", "C4:1.0", "D4 F4:0.5", "rest:0.25"]
    script = (tmp_path / "a_files" / "head_view.js").read_text()
    assert '"include_layers":[1]' in script and '"D4 F4:0.5"' in script
    assert "wrote" in capsys.readouterr().err

    assert cli.main(argv[:9]) == 0
    out = capsys.readouterr().out
    assert out.startswith("attention of the last element 'rest:0.25'") and "layer 1:" in out
    assert cli.main(argv[:7] + ["--layer", "9"]) == 1
    assert "no layer 9" in capsys.readouterr().err
