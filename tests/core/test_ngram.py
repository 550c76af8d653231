"""The n-gram yardstick against probabilities worked out by hand, and its fit on real data."""
from __future__ import annotations

import math

import numpy as np
import pytest

from musicgpt_gui.core.model.train import ngram

# Train "0 1 0 1 2" (vocabulary of 3).  Continuation unigram: 0 follows PAD and 1, 1 follows 0, 2 follows 1
# -> counts {0: 2, 1: 1, 2: 1}, D = n1/(n1+2 n2) = 2/4, so P(w) = (c - .5 + .5 * 3 * 1/3) / 4 = c / 4.
# Bigrams (PAD,0) (0,1)x2 (1,0) (1,2): D = 3/5.  P(1|0) = (2 - .6 + .6 * 1 * .25) / 2 = .775, and so on.
HAND = {
    (1, (0,)): 0.775, (0, (0,)): 0.15, (2, (0,)): 0.075,
    (0, (1,)): 0.5, (2, (1,)): 0.35, (1, (1,)): 0.15,
    (0, (2,)): 0.5, (1, (2,)): 0.25, (2, (2,)): 0.25,  # unseen context: the continuation unigram
}


def test_bigram_matches_the_hand_computed_case():
    model = ngram.KneserNey([0, 1, 0, 1, 2], vocab_size=3, max_order=2)
    for (token, history), expected in HAND.items():
        assert model.prob(token, history, order=2) == pytest.approx(expected)
    # Order 1 counts occurrences {0: 2, 1: 2, 2: 1}: D = 1/5, P(2) = (.8 + .2 * 3 / 3) / 5.
    assert model.prob(2, [], order=1) == pytest.approx(0.2)
    assert model.prob(0, [], order=1) == pytest.approx(0.4)


def test_distributions_sum_to_one_and_match_single_probabilities():
    rng = np.random.default_rng(1)
    tokens = rng.integers(0, 6, size=400).tolist()
    model = ngram.KneserNey(tokens, vocab_size=8, max_order=4)  # ids 6 and 7 never occur
    for history in ([], [1], [2, 3], tokens[-5:], [7, 7, 7]):
        for order in range(1, 5):
            p = model.distribution(history, order)
            assert p.sum() == pytest.approx(1.0)
            assert p[7] > 0
            assert p[3] == pytest.approx(model.prob(3, history, order))


def test_yardstick_prefers_the_order_the_data_has():
    """A strictly periodic sequence is predictable from two tokens back, not from one."""
    period = [0, 1, 0, 2]  # after 0 comes 1 or 2, decided by the token before the 0
    train, valid = period * 200, period * 20
    stick = ngram.fit_yardstick(train, valid, vocab_size=4, tokens_per_element=2.0, orders=range(2, 5))
    assert stick.order >= 3
    assert stick.bits_per_token[2] > 0.4 > stick.bits_per_token[stick.order]
    assert stick.bits_per_element == pytest.approx(2.0 * stick.bits_per_token[stick.order])
    record = stick.as_dict()
    assert record["order"] == stick.order and set(record["by_order"]) == {"2", "3", "4"}


def test_bits_are_minus_log2_of_the_probabilities():
    model = ngram.KneserNey([0, 1, 0, 1, 2], vocab_size=3, max_order=2)
    bits = model.bits_by_order([1, 2], context=[0])
    assert bits[1][0] == pytest.approx(-math.log2(0.775))
    assert bits[1][1] == pytest.approx(-math.log2(0.35))


def test_samples_follow_the_counts_and_stop_at_the_end_token():
    model = ngram.KneserNey([0, 1, 2, 3] * 50, vocab_size=4, max_order=3)
    out = model.sample(np.random.default_rng(0), 40, stop=3, history=[0])
    assert out and 3 not in out and len(out) < 40


def test_window_positions_leave_out_each_windows_first_token():
    scored = ngram.window_positions(10, [0, 4], 4)
    assert scored.tolist() == [False, True, True, True, False, True, True, True, False, False]


def test_the_one_sort_continuation_counts_equal_the_exact_ones(pop_songs, monkeypatch):
    """Continuation counts by one plain sort of (context, token, token before) keys give the same model as the
    exact argsort of every longer context, on POP909's real token stream; many positions scored at once (looked
    up in sorted order) agree with one position at a time."""
    from musicgpt_gui.core.model.store import vocab
    from musicgpt_gui.core.model.train import training_data

    encoder = vocab.load_encoder(pop_songs.model.path)
    data = training_data.load_data(pop_songs.dataset, encoder)
    fast = ngram.KneserNey(data.train, encoder.n_vocab, max_order=6)
    monkeypatch.setattr(ngram, "_MIN_CONTEXT_BITS", 64)  # every order takes the exact path
    exact = ngram.KneserNey(data.train, encoder.n_vocab, max_order=6)
    valid = data.valid[:3000]
    bits_fast, bits_exact = fast.bits_by_order(valid[1:], valid[:1]), exact.bits_by_order(valid[1:], valid[:1])
    assert bits_fast.shape == (6, len(valid) - 1) and np.isfinite(bits_fast).all()
    np.testing.assert_allclose(bits_fast, bits_exact, rtol=1e-12)
    for at in range(1, 3000, 150):
        one = fast.probs_by_order(int(valid[at]), valid[max(0, at - 6):at])
        assert -math.log2(one[5]) == pytest.approx(bits_fast[5][at - 1]) or at < 6
