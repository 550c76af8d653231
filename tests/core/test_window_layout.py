"""Training windows of a dataset with parts: pinned, a window from a song's middle opens with <|endoftext|> and
the song's declarations (as a cut prompt does at generation and infill), then goes on from an item boundary."""
from __future__ import annotations

import numpy as np
import pytest

from musicgpt_gui.core.model.sample.middle_sampler import Sides
from musicgpt_gui.core.model.store import run_store, vocab
from musicgpt_gui.core.model.train import training, training_data
from musicgpt_gui.core.music.notation import split_items
from musicgpt_gui.core.music.parts import leading_declarations

WINDOW = 96


@pytest.fixture(scope="module")
def songs(pop_songs):
    """(workspace, dataset, model, encoder, data) of the shared POP909 songs (tests/conftest.py)."""
    encoder = vocab.load_encoder(pop_songs.model.path)
    return (pop_songs.workspace, pop_songs.dataset, pop_songs.model, encoder,
            training_data.load_data(pop_songs.dataset, encoder))


def test_pinned_windows_open_with_their_songs_declarations_and_go_on_from_an_item_boundary(songs) -> None:
    _, _, _, encoder, data = songs
    cutter = training_data.WindowCutter(data, encoder, WINDOW, "pinned")
    assert cutter.pinned
    starts = np.concatenate([[0], np.flatnonzero(data.train == encoder.eot) + 1])
    pinned = 0
    drawn = np.random.default_rng(0).integers(0, len(data.train) - WINDOW, 200)
    near_end = len(data.train) - WINDOW - np.arange(1, 60)  # a snap there must not leave an item boundary
    before_eot = (starts[1:-1, None] - np.arange(2, 12)).ravel()  # nor reach the song's <|endoftext|>
    for start in np.concatenate([drawn, near_end, before_eot]):
        header, begin = cutter.cut(int(start))
        piece = int(np.searchsorted(starts, start, side="right")) - 1
        declarations = leading_declarations(split_items(data.train_texts[piece]))
        assert len(declarations) == 3  # MELODY, BRIDGE, PIANO
        if not len(header):
            assert begin == start
            continue
        pinned += 1
        text = encoder.decode(header)
        assert text == "<|endoftext|>" + ", ".join(declarations) + ","
        assert start <= begin < starts[piece + 1]  # the body stays in the song it was drawn from
        before = encoder.decode(data.train[starts[piece] : begin])
        assert before.endswith(","), before[-40:]  # the body begins a new item
        assert len(header) + len(data.train[begin : begin + WINDOW - len(header)]) == WINDOW
    assert pinned > 150  # nearly every window starts after its song's header


def test_plain_windows_and_one_stream_pieces_are_stream_slices(songs) -> None:
    _, _, _, encoder, data = songs
    plain = training_data.WindowCutter(data, encoder, WINDOW, "plain")
    header, begin = plain.cut(500)
    assert not plain.pinned and len(header) == 0 and begin == 500
    one_stream = training_data.TrainingData(data.train, data.valid, 0, 0, [], [t.split(", ", 3)[3] for t in
                                                                             data.train_texts])
    assert not training_data.WindowCutter(one_stream, encoder, WINDOW, "pinned").pinned


def test_a_cut_infill_prompt_keeps_the_declarations_before_its_fim_context(songs) -> None:
    _, _, _, encoder, data = songs
    items = split_items(data.train_texts[0])
    sides = Sides.around(encoder, items[:400], items[400:420], WINDOW)
    declarations = leading_declarations(items)
    assert encoder.decode(sides.pinned) == "<|endoftext|>" + ", ".join(declarations) + ","
    sentinels = [encoder.specials[t] for t in vocab.FIM_TOKENS]
    context = sides.context(sentinels, [])
    assert context[: len(sides.pinned)] == sides.pinned and context[len(sides.pinned)] == sentinels[0]
    assert len(context) <= WINDOW - WINDOW // 4
    whole = Sides.around(encoder, items[:3], items[3:6], WINDOW)  # nothing cut: the piece's own start
    assert whole.pinned == [] and whole.prefix[0] == encoder.eot


def test_training_records_the_window_layout_and_refuses_an_unknown_one(songs) -> None:
    workspace, dataset, model, _, _ = songs
    cfg = training.TrainConfig(workspace=workspace, dataset=dataset, base=model.name, run="pinned", steps=2,
                               batch_size=2, window=WINDOW, validate_every=0, sample_every=0, save_every=0,
                               fim_rate=0.5)
    result = training.train(cfg)
    assert result.steps_done == 2
    assert run_store.History.load(result.run_dir).settings["windows"] == "pinned"
    from dataclasses import replace

    from musicgpt_gui.core.jobs import JobError

    with pytest.raises(JobError, match="window layout 'starts'"):
        training.train(replace(cfg, run="odd", windows="starts"))


def test_sliding_on_keeps_the_declarations_in_view() -> None:
    from musicgpt_gui.core.model.sample.generation import slide_rows

    context, pinned = [0, 5, 6, 1, 2, 3], [0, 5, 6]  # <|endoftext|>, two declaration tokens, then music
    rows = slide_rows(context, [[7, 8, 9, 10, 11], [7, 8]], live=[0], pinned=pinned, n_ctx=16)
    assert rows == [[0, 5, 6, 7, 8, 9, 10, 11]] * 2  # 8 in all: the row that stopped borrows the live one's
    assert slide_rows(context, [[7, 8, 9]], live=[0], pinned=[], n_ctx=8) == [[3, 7, 8, 9]]
