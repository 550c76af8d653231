"""Set-up before step 1 is kept per dataset and vocabulary: a second run on the same data reads it back and
trains exactly as the first; an edited dataset is measured again."""
from __future__ import annotations

import multiprocessing
import shutil
from dataclasses import replace

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.model.store import run_store
from musicgpt_gui.core.model.train import training
from musicgpt_gui.core.quality import report

from .train_config import config


def _setup_files(workspace) -> set[str]:
    folder = workspace.setup_cache
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def test_a_second_run_reads_the_set_up_back_and_trains_the_same(tiny_model, tiny_dataset, tmp_path) -> None:
    workspace, _ = tiny_model
    dataset = tmp_path / "bach-copy"
    shutil.copytree(tiny_dataset, dataset)
    train = dataset_files.split_path(dataset, dataset_files.TRAIN)  # bytes no other test trains on
    dataset_files.write_rows(train, dataset_files.read_rows(train)[1:])
    settings = dict(steps=3, validate_every=3, sample_every=3, seed=7)
    before = _setup_files(workspace)
    first = training.train(config(tiny_model, dataset, "cache-a", **settings))
    made = _setup_files(workspace) - before
    assert {name.split("-")[1] for name in made} == {"splits", "ngram", "references"}
    second = training.train(config(tiny_model, dataset, "cache-b", **settings))
    assert _setup_files(workspace) - before == made  # nothing new: all of it was read back
    a, b = run_store.History.load(first.run_dir), run_store.History.load(second.run_dir)
    assert a.ngram == b.ngram and a.ngram["bits_per_element"] > 0
    assert [t["loss"] for t in a.train] == [t["loss"] for t in b.train]  # same seed, same batches
    assert report.load(first.run_dir)["references"] == report.load(second.run_dir)["references"]

    # An edited dataset is another key: measured again, not read stale.
    rows = dataset_files.load_split(dataset, dataset_files.TRAIN)
    dataset_files.write_rows(dataset_files.split_path(dataset, dataset_files.TRAIN), rows[:-1])
    third = training.train(config(tiny_model, dataset, "cache-c", **settings))
    assert len(_setup_files(workspace) - before) == 2 * len(made)
    assert run_store.History.load(third.run_dir).ngram != a.ngram


def test_a_damaged_entry_is_measured_again(tiny_model, tiny_dataset, tmp_path) -> None:
    workspace, _ = tiny_model
    dataset = tmp_path / "bach-damaged"
    shutil.copytree(tiny_dataset, dataset)
    train = dataset_files.split_path(dataset, dataset_files.TRAIN)
    dataset_files.write_rows(train, dataset_files.read_rows(train)[:1])
    before = _setup_files(workspace)
    first = training.train(config(tiny_model, dataset, "damaged-a", steps=2, validate_every=2))
    for name in _setup_files(workspace) - before:
        (workspace.setup_cache / name).write_bytes(b"not what it was")
    second = training.train(config(tiny_model, dataset, "damaged-b", steps=2, validate_every=2))
    assert run_store.History.load(second.run_dir).ngram == run_store.History.load(first.run_dir).ngram


def test_a_new_models_set_up_runs_beside_its_first_weights(tiny_dataset, tmp_path) -> None:
    """``train --new-model`` fills the set-up cache in another process while TensorFlow makes the first weights;
    training then reads all of it back and measures nothing again."""
    from musicgpt_gui.core.jobs import CancelToken
    from musicgpt_gui.core.model.store import models
    from musicgpt_gui.core.model.train import training_data
    from musicgpt_gui.core.workspace import resolve_workspace

    workspace = resolve_workspace(tmp_path / "ws")
    cfg = training.TrainConfig(workspace=workspace, dataset=tiny_dataset, base="", run="beside", steps=2,
                               batch_size=2, window=32, validate_every=2, sample_every=2, save_every=0)
    model = models.create_music_model(workspace, tiny_dataset, size="tiny",
                                      beside_weights=lambda folder: training_data.prefill_beside(cfg, folder))
    made = _setup_files(workspace)
    assert {name.split("-")[1] for name in made} == {"splits", "ngram", "references"}
    result = training.train(replace(cfg, base=model.name))
    assert _setup_files(workspace) == made and result.ngram["bits_per_element"] > 0
    assert set(report.load(result.run_dir)["references"]) == {report.VALIDATION, report.NGRAM}

    # Cancelled, the set-up process is stopped and waited for; a run with learned controls starts none (its bins
    # live in the run, so training does its set-up).
    cancel = CancelToken()
    wait = training_data.prefill_beside(replace(cfg, window=48), model.path, cancel)
    assert len(multiprocessing.active_children()) == 1
    cancel.cancel()
    wait()
    assert multiprocessing.active_children() == []
    training_data.prefill_beside(replace(cfg, controls=True, window=40), model.path)
    assert multiprocessing.active_children() == []
