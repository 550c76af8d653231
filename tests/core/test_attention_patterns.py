"""Rollout, element layout, head pattern scores and selections, on a real tiny model and on hand-made matrices."""

from __future__ import annotations

import csv
from fractions import Fraction

import numpy as np
import pytest

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.core.model.inspect.attention import AttentionModel, pool_items
from musicgpt_gui.core.model.inspect.rollout import attention_rollout, pooled_rollout
from musicgpt_gui.core.music.notation import join_items, parse_text, split_items
from musicgpt_gui.core.viz import attention_patterns as patterns
from musicgpt_gui.core.viz.element_layout import element_layout


def numpy_rollout(attention: np.ndarray) -> np.ndarray:
    """The rollout written out directly: every layer's matrix, then one chained product Ã_L … Ã_1."""
    layers, heads, t, _ = attention.shape
    mixed = []
    for layer in range(layers):
        head_sum = sum(attention[layer, h].astype(np.float64) for h in range(heads))
        a = 0.5 * head_sum / heads + 0.5 * np.identity(t)
        mixed.append(a / a.sum(axis=1)[:, None])
    return mixed[0] if layers == 1 else np.linalg.multi_dot(mixed[::-1])


@pytest.fixture(scope="module")
def result(tiny_run, tiny_dataset):
    from musicgpt_gui.core.dataset import dataset_files

    piece = join_items(split_items(dataset_files.load_split(tiny_dataset, dataset_files.VALID)[0])[:60])
    model = AttentionModel(checkpoints.resolve_checkpoint(tiny_run.run_dir, "latest"))
    try:
        yield model.compute(piece)
    finally:
        model.close()


def test_rollout_matches_numpy_on_the_real_weights(result) -> None:
    rolled = attention_rollout(result.attention)
    t = len(result.tokens)
    assert rolled.shape == (t, t)
    assert np.abs(rolled - numpy_rollout(result.attention)).max() < 1e-5
    assert np.allclose(rolled.sum(axis=1), 1.0, atol=1e-5)
    assert np.all(np.triu(rolled, k=1) == 0.0)
    assert not np.allclose(rolled, np.eye(t), atol=1e-3)  # the layers really mix tokens


def test_rollout_of_one_layer_that_copies_the_previous_token() -> None:
    t = 4
    shift = np.zeros((1, 2, t, t), dtype=np.float32)
    shift[0, :, 0, 0] = 1.0
    shift[0, :, np.arange(1, t), np.arange(t - 1)] = 1.0
    expected = 0.5 * np.eye(t) + 0.5 * shift[0, 0]
    assert np.allclose(attention_rollout(shift), expected)
    assert (
        np.abs(attention_rollout(np.concatenate([shift, shift])) - numpy_rollout(np.concatenate([shift, shift]))).max()
        < 1e-6
    )


def test_pooled_rollout_is_one_row_per_element(result) -> None:
    pooled = pool_items(result.tokens, result.attention)
    per_element = pooled_rollout(result.tokens, attention_rollout(result.attention))
    n = len(pooled.items)
    assert per_element.shape == (n, n)
    assert np.allclose(per_element.sum(axis=1), 1.0, atol=1e-5)
    assert np.all(np.triu(per_element, k=1) < 1e-7)


def test_layout_places_every_note_where_the_whole_text_puts_it() -> None:
    labels = ["<|endoftext|>", "tempo=96", "C4 E4:1.0", "rest:0.5", "G4~2.0 B3:0.5", "D5:1/3", "E5", "C4:1.0"]
    layout = element_layout(labels)
    whole = parse_text(join_items(labels))
    assert [(n.onset, n.pitch, n.duration) for n in layout.notes] == [
        (n.onset, n.pitch, n.duration) for n in whole.notes
    ]
    assert [n.element for n in layout.notes] == [2, 2, 4, 4, 5, 6, 7]
    assert layout.onsets[:4] == [0, 0, 0, 1]
    assert layout.steps[:2] == [0, 0] and layout.steps[3] == Fraction(1, 2)
    assert layout.length == whole.length


def test_bars_follow_the_time_signature() -> None:
    labels = ["<|endoftext|>", "meter.TimeSignature 3/4", "C4:1.0", "D4:2.0", "E4:1.0", "F4:1.0", "rest:1.0", "G4:1.0"]
    layout = element_layout(labels)
    assert layout.bar_starts[:3] == [0, 3, 6]
    assert layout.bars == [0, 0, 0, 0, 1, 1, 1, 2]
    assert layout.bar_firsts() == [-1, -1, 2, 2, 4, 4, 4, 7]


def hand_made(targets: list[int]) -> np.ndarray:
    """A [1, 1, N, N] matrix where row i puts all its weight on ``targets[i]``."""
    n = len(targets)
    m = np.zeros((1, 1, n, n), dtype=np.float32)
    m[0, 0, np.arange(n), targets] = 1.0
    return m


def test_each_pattern_labels_the_head_that_follows_it() -> None:
    labels = ["<|endoftext|>", "C4:1.0", "E4:1.0", "C5:1.0", "G4:1.0", "E5:1.0", "B4:1.0", "C4:1.0"]
    layout = element_layout(labels)  # bars: elements 1-4 and 5-7
    cases = {
        "previous": [0, 0, 1, 2, 3, 4, 5, 6],
        "pitch class": [0, 0, 1, 1, 3, 2, 6, 3],  # C5 -> C4, E5 -> E4, C4 -> C5
        "bar start": [0, 1, 1, 1, 1, 5, 5, 5],
        "start": [0, 0, 0, 0, 0, 0, 0, 0],
    }
    for name, targets in cases.items():
        summary = patterns.head_summary(hand_made(targets), layout)
        assert summary.label(0, 0).startswith(name + "\n1.00 · ×"), (name, summary.scores[0, 0], summary.chance)
    uniform = patterns.head_summary(patterns.uniform_attention(len(labels))[None, None], layout)
    assert np.allclose(uniform.lift(0, 0), 1.0)  # chance is the uniform head's own score
    assert uniform.chance[patterns.PATTERNS.index("start")] == pytest.approx(np.mean(1 / np.arange(2, 9)))
    scores = patterns.pattern_scores(hand_made(cases["previous"]), layout)[0, 0]
    assert scores[patterns.PATTERNS.index("previous")] == pytest.approx(1.0)
    assert scores[patterns.PATTERNS.index("start")] == pytest.approx(1 / 7)


def test_head_choice_selection_and_thumbnails(result) -> None:
    pooled = pool_items(result.tokens, result.attention)
    attention = pooled.attention
    assert np.allclose(patterns.head_matrix(attention, 1, "mean"), attention[1].mean(axis=0))
    assert np.array_equal(patterns.head_matrix(attention, 0, "max"), attention[0].max(axis=0))
    assert np.array_equal(patterns.head_matrix(attention, 1, 1), attention[1, 1])
    with pytest.raises(JobError, match="no head 5"):
        patterns.head_matrix(attention, 0, 5)
    with pytest.raises(JobError, match="no layer 2"):
        patterns.head_matrix(attention, 2, "mean")

    m = attention[1, 0]
    k = len(pooled.items) // 2
    row = patterns.selection_weights(m, k)
    assert np.array_equal(row[: k + 1], m[k, : k + 1]) and not row[k + 1 :].any()
    column = patterns.selection_weights(m, k, reverse=True)
    assert np.array_equal(column[k:], m[k:, k]) and not column[:k].any()

    small = patterns.thumbnails(attention, size=8)
    assert small.shape == attention.shape[:2] + (8, 8)
    assert np.allclose(small.max(axis=(-2, -1)), 1.0)
    assert np.all(np.triu(small, k=1) == 0.0)  # causal blocks stay empty above the diagonal


def test_view_bundle_and_csv(result, tmp_path) -> None:
    pooled = pool_items(result.tokens, result.attention)
    view = patterns.build_view(result, pooled)
    assert view.rollout.shape == (len(result.tokens),) * 2
    assert np.array_equal(view.matrix(None), view.pooled_rollout)
    assert view.summary.scores.shape == (2, 2, len(patterns.PATTERNS))
    assert [n.element for n in view.layout.notes] == sorted(n.element for n in view.layout.notes)

    path = patterns.write_matrix_csv(tmp_path / "m.csv", pooled.items, view.matrix(1, "mean"))
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows[0] == ["element"] + pooled.items
    assert [r[0] for r in rows[1:]] == pooled.items
    read = np.array([[float(x) for x in r[1:]] for r in rows[1:]])
    assert np.allclose(read, view.matrix(1, "mean"), atol=1e-6)


def test_layout_of_a_text_with_parts_keeps_every_note_of_every_part() -> None:
    labels = ["@1=Lead program=73", "@2=Kit drums=0", "tempo=96", "@1 C5 @2 C2~2.0:1.0", "@2 D2:0.5", "@1 E5:1.0"]
    layout = element_layout(labels)
    whole = parse_text(join_items(labels))
    assert len(whole.notes) == 4 and not whole.skipped
    assert [(n.onset, n.pitch, n.duration) for n in layout.notes] == [
        (n.onset, n.pitch, n.duration) for n in whole.notes
    ]
    assert [n.element for n in layout.notes] == [3, 3, 4, 5] and layout.steps[:3] == [0, 0, 0]
