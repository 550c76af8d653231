"""The cached decoder reproduces gpt-2-simple's own forward pass, token by token and after a prompt pass."""

from __future__ import annotations

import numpy as np
import pytest

from musicgpt_gui.core.model.sample import cached_decoder
from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.core.model.store import tf_runtime
from musicgpt_gui.core.model.sample.cached_decoder import CachedDecoder

BATCH = 2


@pytest.fixture(scope="module")
def ref(tiny_run):
    return checkpoints.resolve_checkpoint(tiny_run.run_dir, "latest")


@pytest.fixture(scope="module")
def hparams(ref):
    return tf_runtime.hparams_object(tf_runtime.read_hparams(ref.run_dir))


@pytest.fixture(scope="module")
def contexts(hparams) -> np.ndarray:
    return np.random.default_rng(3).integers(0, hparams.n_vocab, size=(BATCH, 24), dtype=np.int32)


@pytest.fixture(scope="module")
def expected(ref, hparams, contexts) -> np.ndarray:
    """gpt-2-simple's model.model over the whole contexts, in a graph of its own: logits [batch, T, vocab]."""
    from gpt_2_simple.src import model

    tf = tf_runtime.tf()
    graph = tf.Graph()
    with graph.as_default():
        tokens = tf.compat.v1.placeholder(tf.int32, [BATCH, None])
        logits = model.model(hparams=hparams, X=tokens)["logits"]
    session = tf_runtime.new_session(graph)
    checkpoints.restore(session, ref)
    out = session.run(logits, {tokens: contexts})
    session.close()
    return out


@pytest.fixture()
def decoder(ref, hparams):
    tf = tf_runtime.tf()
    graph = tf.Graph()
    with graph.as_default():
        built = CachedDecoder(hparams, BATCH)
    session = tf_runtime.new_session(graph, caller_thread=True)
    checkpoints.restore(session, ref)
    yield built.bind(session)
    session.close()


def test_steps_give_the_logits_of_the_full_forward_pass(decoder, contexts, expected) -> None:
    logits = [decoder.start(contexts[:, :3], capacity=64)]
    logits += [decoder.step(contexts[:, t]) for t in range(3, contexts.shape[1])]
    got = np.stack(logits, axis=1)
    assert got.shape == expected[:, 2:].shape
    assert np.abs(got - expected[:, 2:]).max() < 1e-4
    assert decoder.length == contexts.shape[1]


def test_a_long_context_goes_through_the_prompt_pass_and_steps_go_on_from_it(
    decoder, contexts, expected, monkeypatch
) -> None:
    monkeypatch.setattr(cached_decoder, "STEPPED_PROMPT_BUDGET", 0)
    first = decoder.start(contexts[:, :20], capacity=64)
    assert decoder._prompt is not None and decoder.length == 20 and decoder.reused == 0
    later = [decoder.step(contexts[:, t]) for t in range(20, contexts.shape[1])]
    got = np.stack([first] + later, axis=1)
    assert np.abs(got - expected[:, 19:]).max() < 1e-4


def test_a_new_context_is_read_afresh_and_a_repeated_one_from_the_cache(decoder, contexts, expected) -> None:
    decoder.start(contexts[:, ::-1].copy(), capacity=64)
    fresh = decoder.start(contexts[:, :5], capacity=8)
    assert decoder.reused == 0 and decoder.capacity == 64
    assert np.abs(fresh - expected[:, 4]).max() < 1e-4
    for _ in range(5, 9):
        decoder.step(np.full(BATCH, 7))  # a continuation that is not part of the next context
    again = decoder.start(contexts[:, :5], capacity=8)
    assert decoder.reused == 4 and decoder.length == 5
    assert np.abs(again - expected[:, 4]).max() < 1e-4
    longer = decoder.start(contexts[:, :12], capacity=16)
    assert decoder.reused == 5
    assert np.abs(longer - expected[:, 11]).max() < 1e-4
    grown = decoder.start(contexts[:, :12], capacity=128)
    assert decoder.reused == 0 and decoder.capacity == 128
    assert np.abs(grown - expected[:, 11]).max() < 1e-4


def test_the_cache_refuses_tokens_past_its_capacity(decoder, contexts) -> None:
    decoder.start(contexts[:, :4], capacity=5)
    decoder.step(contexts[:, 4])
    with pytest.raises(ValueError, match="full"):
        decoder.step(contexts[:, 5])
    with pytest.raises(ValueError, match="capacity"):
        decoder.start(contexts[:, :6], capacity=5)


def test_once_prepared_many_new_tokens_take_one_pass_and_a_few_are_stepped(decoder, contexts, expected) -> None:
    """A live answer's prefix is read in one pass once the pass is built (jam), not token by token."""
    decoder.prepare()
    assert decoder._prompt is not None
    decoder.start(contexts[:, :3], capacity=64)  # 3 new tokens: fewer than a pass is worth, stepped
    assert decoder.reused == 0 and decoder.length == 3
    first = decoder.start(contexts[:, :20], capacity=64)  # 17 new of 20: one pass over all 20 (cache not reused)
    assert decoder.reused == 0 and decoder.length == 20
    assert np.abs(first - expected[:, 19]).max() < 1e-4
    later = decoder.start(contexts[:, :22], capacity=64)  # 2 new: stepped on from the cache
    assert decoder.reused == 20 and decoder.length == 22
    assert np.abs(later - expected[:, 21]).max() < 1e-4
