"""Queries and keys from gpt-2-simple's attn(): they give back the fetched attention, match an independent
numpy GPT-2, reach the .npz, and cost nothing when not asked for."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from musicgpt_gui.core.model.inspect.attention import AttentionModel, save_npz
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.store import checkpoints, gpt2_backend
from tests.core.test_attention import numpy_gpt2

TEXT = "tempo=96, C#5 E4 A3:0.5, rest:1/3, B4~2.0 G#2:1.0, D4:0.25, E4 G4:1.0"


@pytest.fixture(scope="module")
def ref(tiny_run):
    return checkpoints.resolve_checkpoint(tiny_run.run_dir, "latest")


@pytest.fixture(scope="module")
def model(ref):
    m = AttentionModel(ref)
    yield m
    m.close()


def causal_softmax(queries: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """softmax(q·kᵀ/√d) with GPT-2's causal mask, in float64 numpy, over [..., T, d] arrays."""
    q, k = queries.astype(np.float64), keys.astype(np.float64)
    t = q.shape[-2]
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    scores = np.where(np.tril(np.ones((t, t), dtype=bool)), scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    return weights / weights.sum(-1, keepdims=True)


def test_exported_queries_and_keys_give_back_the_exported_attention(model, tmp_path: Path) -> None:
    result = model.compute(TEXT, queries_keys=True)
    path = save_npz(tmp_path / "qk.npz", result)
    with np.load(path) as data:
        attention, queries, keys = data["attention"], data["queries"], data["keys"]
    layers, heads, t, _ = attention.shape
    size = model.hparams.n_embd // model.hparams.n_head
    assert queries.shape == keys.shape == (layers, heads, t, size) and t == len(result.token_ids) > 10
    assert queries.dtype == keys.dtype == np.float32
    assert np.abs(causal_softmax(queries, keys) - attention).max() < 1e-5
    # not trivially true: other heads' keys, or unscaled scores, give other weights
    assert np.abs(causal_softmax(queries, np.roll(keys, 1, axis=1)) - attention).max() > 1e-2
    assert np.abs(causal_softmax(queries * np.sqrt(size), keys) - attention).max() > 1e-2


def test_queries_and_keys_match_an_independent_numpy_gpt2(model, ref) -> None:
    result = model.compute(TEXT, queries_keys=True)
    hparams = json.loads((ref.run_dir / "hparams.json").read_text())
    weights, queries, keys = numpy_gpt2(ref.prefix, hparams, result.token_ids)
    assert result.queries.shape == queries.shape and result.keys.shape == keys.shape
    scale = max(np.abs(queries).max(), np.abs(keys).max())
    assert np.abs(result.queries - queries).max() < 1e-4 * max(1.0, scale)
    assert np.abs(result.keys - keys).max() < 1e-4 * max(1.0, scale)
    assert np.abs(result.attention - weights).max() < 1e-4


def test_plain_attention_fetches_no_queries_or_keys(model, tmp_path: Path) -> None:
    plain = model.compute(TEXT)
    full = model.compute(TEXT, queries_keys=True)
    assert plain.queries is None and plain.keys is None
    assert np.array_equal(plain.attention, full.attention)
    assert model.loads == 1  # one graph serves both
    with np.load(save_npz(tmp_path / "plain.npz", plain)) as data:
        assert "queries" not in data.files and "keys" not in data.files


def test_the_adapter_finds_q_and_k_inside_attn(model) -> None:
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        gpt2_backend.model().model(hparams=model.hparams, X=tf.compat.v1.placeholder(tf.int32, [1, None]))
        found = [gpt2_backend.query_key_tensors(graph, i) for i in range(model.hparams.n_layer)]
    size = model.hparams.n_embd // model.hparams.n_head
    for layer, (q, k) in enumerate(found):
        assert q.name.startswith(f"model/h{layer}/attn/") and k.name.startswith(f"model/h{layer}/attn/")
        assert q.shape.as_list()[1::2] == k.shape.as_list()[1::2] == [model.hparams.n_head, size]
        assert q.op.type == k.op.type == "Transpose" and q is not k  # split_heads(q), split_heads(k)


def test_queries_and_keys_for_a_results_own_tokens(model) -> None:
    """What the GUI does when the neuron view is chosen after the attention: the same ids, fetched again."""
    long = ", ".join(["C4:0.5", "D4:0.5", "rest:0.25"] * 200)
    plain = model.compute(long, start=False)
    assert plain.warnings and len(plain.token_ids) == model.context
    again = model.compute_ids(plain.token_ids, queries_keys=True)
    assert again.token_ids == plain.token_ids and again.tokens == plain.tokens
    assert np.array_equal(again.attention, plain.attention) and again.checkpoint == plain.checkpoint
    assert np.abs(causal_softmax(again.queries, again.keys) - plain.attention).max() < 1e-5
    with pytest.raises(JobError, match="1 to 64 tokens"):
        model.compute_ids(plain.token_ids + [0])
