"""Time budget, learning-rate schedule, transposition, the n-gram line in history.json and quiet TensorFlow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from musicgpt_gui.cli import main
from tests.core.train_config import config
from musicgpt_gui.core.jobs import JobError, Progress
from musicgpt_gui.core.model.train import recipe, training
from musicgpt_gui.core.model.store import run_store
from musicgpt_gui.core.quality import report
from musicgpt_gui.core.music.transpose import transpose_text


def test_minutes_stop_on_time_whatever_the_steps(tiny_model, tiny_dataset: Path) -> None:
    reports: list[Progress] = []
    budget = 0.05  # three seconds
    began = time.monotonic()
    result = training.train(
        config(tiny_model, tiny_dataset, "budget", steps=1, minutes=budget, yardstick=False, validate_every=10_000),
        on_progress=reports.append,
    )
    took = time.monotonic() - began
    assert result.stopped_on_time and result.steps_done > 1  # steps=1 did not stop it
    assert any("budget is used up" in n for n in result.notes)
    assert took < budget * 60 + 30  # start-up aside, it stopped within a step of the budget
    steps = [r for r in reports if r.info is not None and r.info.loss is not None]
    assert steps[-1].fraction == pytest.approx(1.0, abs=0.05)
    assert all(r.info.eta <= budget * 60 for r in steps) and steps[-1].info.eta < steps[0].info.eta
    assert run_store.latest_step(result.run_dir) == result.step
    history = run_store.History.load(result.run_dir)
    assert history.settings["minutes"] == budget
    assert [e["step"] for e in history.valid] == [result.step]  # validated once, where the budget ended it


def test_history_keeps_the_ngram_line_and_samples_get_metrics(tiny_model, tiny_dataset: Path) -> None:
    result = training.train(
        config(tiny_model, tiny_dataset, "yardstick", steps=2, validate_every=2, sample_every=2, sample_length=48)
    )
    stick = json.loads((result.run_dir / run_store.HISTORY_FILE).read_text())["ngram"]
    assert 2 <= stick["order"] <= 8 and stick["bits_per_element"] > 0
    assert set(stick["by_order"]) == {str(k) for k in range(2, 9)}
    assert result.ngram == stick and result.best_bits_per_element is not None
    stored = report.load(result.run_dir)
    assert set(stored["references"]) == {report.VALIDATION, report.NGRAM} and "2" in stored["samples"]
    assert stored["references"][report.VALIDATION]["in_scale"] > 0.8  # Bach chorales are in key
    resumed = training.train(config(tiny_model, tiny_dataset, "yardstick", steps=1, resume=True, yardstick=False))
    assert run_store.History.load(resumed.run_dir).ngram == stick  # kept across a resume


def test_cli_minutes_prints_device_yardstick_and_metrics(workspace, tiny_dataset: Path, capsys) -> None:
    shutil.copytree(tiny_dataset, workspace.datasets / "bach")
    args = [
        "train",
        "--dataset",
        "bach",
        "--new-model",
        "tiny",
        "--minutes",
        "0.02",
        "--window",
        "32",
        "--validate-every",
        "1",
        "--sample-every",
        "1",
        "--sample-length",
        "32",
        "--transpose",
        "1",
    ]
    assert main(args) == 0
    out = capsys.readouterr()
    assert "device: CPU" in out.err or "device: GPU" in out.err
    assert "budget is used up" in out.err
    assert "n-gram yardstick (order" in out.out and "x the n-gram" in out.out
    assert "validation data" in out.out and "sample 1" in out.out
    settings = run_store.History.load(workspace.checkpoint / "run1").settings
    assert settings["schedule"] == recipe.NEW_MODEL.schedule and settings["transpose"] == 1
    assert settings["learning_rate"] == recipe.NEW_MODEL.learning_rate and settings["window"] == 32


def test_schedule_warms_up_then_decays_to_a_tenth():
    lr = [recipe.learning_rate(1.0, "cosine", 10, step, step / 100) for step in range(101)]
    assert lr[0] == pytest.approx(0.1 * (0.1 + 0.9 * 0.5 * (1 + 1)), rel=1e-6)
    assert max(lr) == pytest.approx(lr[9], rel=0.01) and lr[100] == pytest.approx(recipe.FINAL_LR_SHARE)
    assert recipe.learning_rate(2.0, "constant", 0, 50, 0.5) == 2.0
    with pytest.raises(JobError):
        recipe.learning_rate(1.0, "wavy", 0, 0, 0.0)


def test_a_run_best_in_its_first_quarter_is_told_why_and_what_helps():
    hint = recipe.overfit_hint(100, 1473, 0)
    assert hint and "step 100 of 1473" in hint and "--transpose 5" in hint
    assert "--transpose" not in (recipe.overfit_hint(100, 1473, 5) or "--transpose")
    assert recipe.overfit_hint(1200, 1473, 0) is None  # still improving late: nothing to say
    assert recipe.overfit_hint(None, 1473, 0) is None and recipe.overfit_hint(20, 200, 0) is None  # too short to tell


def test_transposition_shifts_pitches_and_keys_and_drops_what_leaves_the_range():
    text = "Piano, a minor, C4 E4~2.0 A3:1.0, rest:0.5, B-3:0.5, meter.TimeSignature 4/4"
    assert transpose_text(text, 2) == "Piano, b minor, D4 F#4~2.0 B3:1.0, rest:0.5, C4:0.5, meter.TimeSignature 4/4"
    assert transpose_text("G9:1.0", 1) is None
    copies = recipe.transposed_copies([text, "G9:1.0"], 1)
    assert len(copies) == 3 and all("C4" not in c for c in copies)


def test_recipes_by_model_kind():
    assert recipe.for_hparams({"n_vocab": 50257}) is recipe.FINETUNE
    assert recipe.for_hparams({"n_vocab": 3000}) is recipe.NEW_MODEL


def test_tensorflow_start_up_lines_never_reach_stderr() -> None:
    code = (
        "from musicgpt_gui.core.model.store import tf_runtime; tf = tf_runtime.tf(); print(tf_runtime.device_line());"
        "g = tf.Graph();\nwith g.as_default(): x = tf.constant(1.0)\nprint(tf_runtime.new_session(g).run(x))"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("device: ") and "1.0" in done.stdout
    assert done.stderr.strip() == ""
