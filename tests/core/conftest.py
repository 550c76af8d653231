"""Session-wide fixtures for model work: a tiny real Bach dataset and a tiny trained run.

Other suites (generation, attention, GUI) reuse these; they cost a few seconds once per session.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

CHORALES = ("bach/bwv66.6", "bach/bwv1.6", "bach/bwv10.7", "bach/bwv101.7")


def chorale_text(corpus_path: str) -> str:
    """A corpus chorale as timed note text (chordified; each item's step to the next onset)."""
    from music21 import corpus

    from musicgpt_gui.core import notation

    score = corpus.parse(corpus_path).chordify()
    events = list(score.flatten().notesAndRests)
    items = []
    for i, el in enumerate(events):
        step = (events[i + 1].offset - el.offset) if i + 1 < len(events) else el.quarterLength
        pitches = None if el.isRest else [p.nameWithOctave for p in el.pitches]
        items.append(notation.format_item(pitches, notation.quantize(step)))
    return notation.join_items(items)


def write_dataset(folder: Path, train: list[str], valid: list[str]) -> Path:
    from musicgpt_gui.core import dataset_files

    dataset_files.write_rows(dataset_files.split_path(folder, dataset_files.ALL), train + valid)
    dataset_files.write_rows(dataset_files.split_path(folder, dataset_files.TRAIN), train)
    dataset_files.write_rows(dataset_files.split_path(folder, dataset_files.VALID), valid)
    dataset_files.write_metadata(folder, {"format": "timed", "sources": list(CHORALES)})
    return folder


@pytest.fixture(scope="session")
def make_dataset():
    """``make_dataset(folder, train_texts, valid_texts) -> folder`` for tests that need odd data."""
    return write_dataset


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset folder of four real Bach chorales (three to train on, one to validate)."""
    texts = [chorale_text(p) for p in CHORALES]
    return write_dataset(tmp_path_factory.mktemp("datasets") / "bach-tiny", texts[:3], texts[3:])


@dataclass(frozen=True)
class TinyRun:
    workspace: object  # musicgpt_gui.core.workspace.Workspace
    run: str
    model: str

    @property
    def run_dir(self) -> Path:
        return self.workspace.checkpoint / self.run


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, tiny_dataset: Path):
    """(workspace, model info): a tiny atomic-vocabulary music model, untrained."""
    from musicgpt_gui.core import models
    from musicgpt_gui.core.workspace import resolve_workspace

    workspace = resolve_workspace(tmp_path_factory.mktemp("ws"))
    return workspace, models.create_music_model(workspace, tiny_dataset, size="tiny", vocab_kind="atomic")


@pytest.fixture(scope="session")
def tiny_run(tiny_model, tiny_dataset: Path) -> TinyRun:
    """A tiny model trained a few steps into checkpoint/tiny-run (with a best checkpoint)."""
    from musicgpt_gui.core import training

    workspace, model = tiny_model
    cfg = training.TrainConfig(
        workspace=workspace, dataset=tiny_dataset, base=model.name, run="tiny-run", steps=4, batch_size=2,
        window=64, validate_every=2, sample_every=0, save_every=2,
    )
    training.train(cfg)
    return TinyRun(workspace, "tiny-run", model.name)
