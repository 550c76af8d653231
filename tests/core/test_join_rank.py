"""Choosing the middles that lead into what follows: the suffix's first bar, and its nats read in a batch."""
from __future__ import annotations

import numpy as np
import pytest

from musicgpt_gui.core.model.sample import join_rank


@pytest.fixture(scope="module")
def generator(fim_generator):
    return fim_generator


def test_the_join_head_is_the_suffixs_first_bar_in_the_meter_before_it(generator) -> None:
    enc = generator.encoder
    after = ["C4:1.0", "D4:1.0", "E4:2.0", "F4:1.0"]
    assert enc.decode(join_rank.join_head(enc, after, ["meter.TimeSignature 2/4", "G4:2.0"], 64)) == " C4:1.0, D4:1.0,"
    assert enc.decode(join_rank.join_head(enc, after, ["G4:2.0"], 64)) == " C4:1.0, D4:1.0, E4:2.0,"  # 4/4
    assert len(join_rank.join_head(enc, after, [], 16)) == 4 and join_rank.join_head(enc, [], [], 64) == []  # a quarter


def test_join_nats_in_a_batch_are_each_rows_own(generator) -> None:
    """The batch cuts rows to one length from the left; each row's nats are what reading it alone gives."""
    enc = generator.encoder
    prefix = [enc.eot] + enc.encode("C4:1.0, E4:1.0, G4:1.0, C5:1.0,")
    middles = [enc.encode(" D4:1.0,"), enc.encode(" F4:0.5, A4:0.5, B4:1.0,"), []]
    head = enc.encode(" C5 G4:2.0, E4:1.0,")
    size = generator.context
    with generator.decoding(3) as decoder:
        batch = join_rank.join_nats(decoder, prefix, middles, head, size)
    keep = min(len(prefix) + len(m) for m in middles)
    with generator.decoding(1) as decoder:
        for middle, nats in zip(middles, batch, strict=True):
            row = (prefix + middle)[-keep:]
            alone = 0.0
            for k, token in enumerate(head):  # each head token read from a fresh start of the whole row
                logits = decoder.start(np.array([row + head[:k]], dtype=np.int32), 64)[0]
                alone += np.log(np.exp(logits - logits.max()).sum()) + logits.max() - logits[token]
            assert nats == pytest.approx(alone, rel=1e-4)
    assert len(set(np.round(batch, 4))) == 3
    assert join_rank.best_first(np.array([2.0, 1.0, 2.0, 0.5]), 3) == [3, 1, 0]
