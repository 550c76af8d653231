"""Out-of-memory recovery in the real loop: TensorFlow's ResourceExhaustedError injected at a chosen step."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from musicgpt_gui.cli import main
from musicgpt_gui.core.jobs import JobError, Progress
from musicgpt_gui.core.model.store import run_store
from musicgpt_gui.core.model.train import recovery, training
from tests.core.train_config import config


def test_out_of_memory_halves_the_micro_batch_twice_and_finishes(tiny_model, tiny_dataset: Path, monkeypatch) -> None:
    reference = training.train(config(tiny_model, tiny_dataset, "no-oom", steps=4, batch_size=4, save_every=2))
    monkeypatch.setenv(recovery.INJECT_ENV, "step=3,above=1")  # step 3 fails while the micro-batch exceeds 1
    reports: list[Progress] = []
    cfg = config(tiny_model, tiny_dataset, "oom", steps=4, batch_size=4, save_every=2)
    result = training.train(cfg, on_progress=reports.append)

    assert result.step == 4 and result.steps_done == 4 and not result.cancelled
    assert (result.batch_size, result.accumulate) == (1, 4)  # 4 examples per step, as asked
    assert result.recoveries == [
        {"step": 3, "resumed_from": 2, "batch_size": 2, "accumulate": 2},
        {"step": 3, "resumed_from": 2, "batch_size": 1, "accumulate": 4},
    ]
    said = [r.message for r in reports if isinstance(r.info, recovery.Recovery)]
    assert len(said) == 2 and said[0].startswith("out of memory at step 3 with micro-batch 4")
    assert "micro-batch 2 × 2 accumulated" in said[0] and "micro-batch 1 × 4" in said[1]
    assert any("went back to the save at step 2" in note for note in result.notes)
    last = [r.info for r in reports if isinstance(r.info, training.TrainProgress)][-1]
    assert (last.batch_size, last.accumulate) == (1, 4) and last.recovered == said[1]  # every report carries it
    history = json.loads((result.run_dir / run_store.HISTORY_FILE).read_text())
    assert [e["step"] for e in history["train"]] == [1, 2, 3, 4]  # nothing lost, nothing twice
    before = json.loads((reference.run_dir / run_store.HISTORY_FILE).read_text())["train"][:2]
    assert [e["loss"] for e in history["train"][:2]] == pytest.approx([e["loss"] for e in before], rel=1e-5)
    assert history["recoveries"] == result.recoveries
    assert (history["settings"]["batch_size"], history["settings"]["accumulate"]) == (1, 4)
    assert run_store.latest_step(result.run_dir) == 4


def test_a_third_failure_stops_with_the_message_and_keeps_the_last_save(
    tiny_model, tiny_dataset: Path, monkeypatch
) -> None:
    monkeypatch.setenv(recovery.INJECT_ENV, "step=3")  # step 3 always fails
    cfg = config(tiny_model, tiny_dataset, "oom-stop", steps=4, batch_size=4, save_every=2)
    with pytest.raises(JobError, match=r"Out of memory with batch size 1 and 32-token windows\. .* last saved"):
        training.train(cfg)
    run_dir = cfg.workspace.checkpoint / cfg.run
    assert run_store.latest_step(run_dir) == 2  # the save before the failures, intact
    history = run_store.History.load(run_dir)
    assert [e["step"] for e in history.train] == [1, 2]
    assert [(r["batch_size"], r["accumulate"]) for r in history.recoveries] == [(2, 2), (1, 4)]
    monkeypatch.delenv(recovery.INJECT_ENV)
    resumed = training.train(config(tiny_model, tiny_dataset, "oom-stop", steps=1, resume=True, base=None))
    assert resumed.step == 3  # nothing broken: the run resumes from its last save


def test_before_any_save_it_goes_back_to_the_base_model(tiny_model, tiny_dataset: Path, monkeypatch) -> None:
    monkeypatch.setenv(recovery.INJECT_ENV, "step=2,above=1")
    result = training.train(config(tiny_model, tiny_dataset, "oom-early", steps=3, batch_size=2))
    assert result.recoveries == [{"step": 2, "resumed_from": 0, "batch_size": 1, "accumulate": 2}]
    assert "went back to the start" in result.notes[0]
    assert [e["step"] for e in run_store.History.load(result.run_dir).train] == [1, 2, 3]


def test_micro_batch_one_cannot_shrink(tiny_model, tiny_dataset: Path, monkeypatch) -> None:
    monkeypatch.setenv(recovery.INJECT_ENV, "step=1")
    with pytest.raises(JobError, match="Out of memory with batch size 1"):
        training.train(config(tiny_model, tiny_dataset, "oom-one", steps=2, batch_size=1))
    assert recovery.halved(3, 1) is None and recovery.halved(4, 2) == (2, 4)
    assert recovery.halved(2, 1, devices=2) is None


def test_the_cli_logs_the_recovery(workspace, tiny_model, tiny_dataset: Path, monkeypatch, capsys) -> None:
    shutil.copytree(tiny_model[1].path, workspace.models / "tiny")
    shutil.copytree(tiny_dataset, workspace.datasets / "bach")
    monkeypatch.setenv(recovery.INJECT_ENV, "step=2,above=1")
    args = ["--window", "32", "--sample-every", "0", "--validate-every", "0", "--steps", "3", "--batch-size", "2"]
    assert main(["train", "--dataset", "bach", "--base", "tiny", *args]) == 0
    out = capsys.readouterr()
    assert "warning: out of memory at step 2 with micro-batch 2: went back to the start" in out.err
    assert "run run1: step 3 (3 now)" in out.out
