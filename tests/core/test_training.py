"""The training loop on a tiny real model: progress, cancel, resume, validation, errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from musicgpt_gui.core.model.store import run_store
from musicgpt_gui.core.model.train import training
from tests.core.train_config import config
from musicgpt_gui.core.jobs import CancelToken, JobError, Progress


def test_progress_every_step_and_result(tiny_model, tiny_dataset: Path) -> None:
    reports: list[Progress] = []
    result = training.train(config(tiny_model, tiny_dataset, "progress", sample_every=2), on_progress=reports.append)
    typed = [r for r in reports if r.info is not None]
    assert typed and all(isinstance(r.info, training.TrainProgress) for r in typed)
    steps = [r.info.step for r in typed if r.info.loss is not None]
    assert steps == [1, 2, 3]
    last = reports[-1]
    assert last.fraction == 1.0
    assert last.info.avg_loss is not None and last.info.tokens_per_s > 0 and last.info.elapsed > 0
    assert last.info.total == 3 and last.info.eta == 0 and last.info.device == result.device
    assert result.step == 3 and not result.cancelled and result.tokens_per_s > 0
    assert result.device == "CPU" or result.device.startswith("GPU")
    assert (result.run_dir / "counter").read_text().strip() == "3"
    assert Path(result.checkpoint).name == "model-3"
    assert (result.run_dir / "samples" / "sample-2.txt").is_file()
    assert result.samples and all(p.exists() for p in result.samples)


def test_cancel_saves_within_one_step_then_resume_continues(tiny_model, tiny_dataset: Path) -> None:
    cancel = CancelToken()

    def on_progress(p: Progress) -> None:
        if p.info is not None and p.info.step == 2:
            cancel.cancel()

    cfg = config(tiny_model, tiny_dataset, "cancel", steps=50)
    result = training.train(cfg, on_progress=on_progress, cancel=cancel)
    assert result.cancelled and result.step in (2, 3)
    assert run_store.latest_step(result.run_dir) == result.step
    assert (result.run_dir / "counter").read_text().strip() == str(result.step)

    reports: list[Progress] = []
    resumed = training.train(
        config(tiny_model, tiny_dataset, "cancel", steps=2, resume=True, base=None), on_progress=reports.append
    )
    assert resumed.step == result.step + 2 and resumed.steps_done == 2
    assert reports[-1].info.total == result.step + 2
    history = json.loads((result.run_dir / "history.json").read_text())
    assert [e["step"] for e in history["train"]] == list(range(1, resumed.step + 1))
    first_after = history["train"][result.step]
    plain_average = (result.avg_loss * 0.99 * sum(0.99**i for i in range(result.step)) + first_after["loss"]) / sum(
        0.99**i for i in range(result.step + 1)
    )
    assert first_after["avg_loss"] == pytest.approx(plain_average)  # the moving average carries on


def test_run_names_are_not_silently_reused(tiny_run, tiny_model, tiny_dataset: Path) -> None:
    with pytest.raises(JobError, match="already has checkpoints; resume it, overwrite it"):
        training.train(config(tiny_model, tiny_dataset, tiny_run.run, steps=1))
    with pytest.raises(JobError, match="no saved checkpoint in run 'never'"):
        training.train(config(tiny_model, tiny_dataset, "never", resume=True))


def test_validation_early_stopping_and_best_kept_apart(tiny_model, tiny_dataset: Path) -> None:
    """A learning rate too small to move float32 weights: validation never improves after step 1."""
    cfg = config(tiny_model, tiny_dataset, "early", steps=20, learning_rate=1e-30, validate_every=1, patience=2)
    result = training.train(cfg)
    assert result.stopped_early and result.step == 3
    assert result.best_step == 1 and result.best_val_loss is not None
    assert Path(run_store.latest_prefix(result.run_dir)).name == "model-3"
    assert Path(run_store.latest_prefix(result.run_dir / "best")).name == "model-1"
    history = json.loads((result.run_dir / "history.json").read_text())
    assert [v["step"] for v in history["valid"]] == [1, 2, 3]
    assert history["best"] == {"step": 1, "loss": result.best_val_loss}
    assert history["valid"][0]["bits_per_element"] > 0


def test_tiny_run_fixture_has_best_and_latest(tiny_run) -> None:
    assert run_store.latest_step(tiny_run.run_dir) == 4
    assert run_store.latest_prefix(tiny_run.run_dir / "best") is not None
    assert {"hparams.json", "encoder.json", "vocab.bpe"} <= {p.name for p in (tiny_run.run_dir / "best").iterdir()}


def test_dataset_errors(tiny_model, tmp_path: Path, make_dataset) -> None:
    empty = make_dataset(tmp_path / "empty", [], [])
    with pytest.raises(JobError, match="empty"):
        training.train(config(tiny_model, empty, "e"))
    short = make_dataset(tmp_path / "short", ["C4:1.0, D4:1.0"], [])
    with pytest.raises(JobError, match="too short"):
        training.train(config(tiny_model, short, "e"))
    with pytest.raises(JobError, match="not a dataset folder"):
        training.train(config(tiny_model, tmp_path / "missing", "e"))


def test_small_dataset_trains_with_shorter_windows(tiny_model, tmp_path: Path, make_dataset) -> None:
    small = make_dataset(
        tmp_path / "small", ["C4:1.0, D4:1.0, E4:1.0, F4:1.0, G4:1.0, A4:1.0, B4:1.0, C5:1.0, rest:1.0"], []
    )
    result = training.train(config(tiny_model, small, "small", steps=1, window=1024))
    assert result.window < 1024 and "shortened" in result.notes[0]


def test_model_errors(tiny_model, tiny_dataset: Path) -> None:
    workspace, model = tiny_model
    with pytest.raises(JobError, match="no model 'ghost'"):
        training.train(config(tiny_model, tiny_dataset, "m", base="ghost"))
    mixed = workspace.models / "mixed"
    shutil.copytree(model.path, mixed)
    hparams = json.loads((mixed / "hparams.json").read_text())
    (mixed / "hparams.json").write_text(json.dumps(dict(hparams, n_embd=128)))
    with pytest.raises(JobError, match="does not match its hparams.json"):
        training.train(config(tiny_model, tiny_dataset, "m", base="mixed"))


def test_nan_loss_stops_and_keeps_the_saved_checkpoint(tiny_model, tiny_dataset: Path) -> None:
    saved = training.train(config(tiny_model, tiny_dataset, "nan", steps=2))
    before = {p.name: p.read_bytes() for p in saved.run_dir.glob("model-*")}
    with pytest.raises(JobError, match=r"diverged.*step 2\) is kept; lower the learning rate"):
        training.train(config(tiny_model, tiny_dataset, "nan", steps=20, resume=True, learning_rate=1e30))
    assert {p.name: p.read_bytes() for p in saved.run_dir.glob("model-*")} == before
    again = training.train(config(tiny_model, tiny_dataset, "nan", steps=1, overwrite=True))
    assert again.step == 1 and run_store.latest_step(saved.run_dir) == 1


def test_failed_save_leaves_latest_intact(tiny_model, tiny_dataset: Path) -> None:
    """A real write failure (the target name is taken by a folder) during the step-2 save."""
    first = training.train(config(tiny_model, tiny_dataset, "crash", steps=1))
    (first.run_dir / "model-2.index").mkdir()
    with pytest.raises(JobError, match="Could not save the checkpoint at step 2.*previous checkpoint is intact"):
        training.train(config(tiny_model, tiny_dataset, "crash", steps=1, resume=True))
    prefix = run_store.latest_prefix(first.run_dir)
    assert Path(prefix).name == "model-1" and (first.run_dir / "counter").read_text().strip() == "1"
    assert "model/wte" in tf_checkpoint_names(prefix)


def tf_checkpoint_names(prefix: str) -> set[str]:
    import tensorflow as tf

    return set(tf.train.load_checkpoint(prefix).get_variable_to_shape_map())


def test_bad_settings(tiny_model, tiny_dataset: Path) -> None:
    with pytest.raises(JobError, match="batch size must be at least 1"):
        training.train(config(tiny_model, tiny_dataset, "s", batch_size=0))
    with pytest.raises(JobError, match="learning rate must be positive"):
        training.train(config(tiny_model, tiny_dataset, "s", learning_rate=0))
    with pytest.raises(JobError, match="Choose a base model"):
        training.train(config(tiny_model, tiny_dataset, "s", base=None))
    with pytest.raises(JobError, match="training window must be at least 16 tokens, not 0"):
        training.train(config(tiny_model, tiny_dataset, "s", window=0))
    with pytest.raises(JobError, match="seed must be between 0"):
        training.train(config(tiny_model, tiny_dataset, "s", seed=-1))


def test_gradient_accumulation_on_a_worker_thread(tiny_model, tiny_dataset: Path) -> None:
    """As the GUI runs it: off the main thread, after other runs in this process."""
    results: list = []
    worker = threading.Thread(
        target=lambda: results.append(
            training.train(config(tiny_model, tiny_dataset, "accum", steps=2, accumulate=2, batch_size=1))
        )
    )
    worker.start()
    worker.join(timeout=240)
    assert results and results[0].step == 2 and results[0].loss is not None


GENERATE = """
import sys, gpt_2_simple as gpt2, tensorflow as tf
for run in sys.argv[2:]:
    sess = gpt2.start_tf_sess()
    gpt2.load_gpt2(sess, run_name=run, checkpoint_dir=sys.argv[1])
    texts = gpt2.generate(sess, run_name=run, checkpoint_dir=sys.argv[1], length=12, return_as_list=True, seed=1)
    print("GENERATED:" + repr(texts[0]))
    sess.close()
    tf.compat.v1.reset_default_graph()
"""


def test_gpt2_simple_loads_and_generates_our_checkpoint(tiny_run) -> None:
    """gpt-2-simple's own load_gpt2 + generate on latest and best, in a fresh process as a user runs them."""
    out = subprocess.run(
        [sys.executable, "-c", GENERATE, str(tiny_run.workspace.checkpoint), tiny_run.run, f"{tiny_run.run}/best"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("GENERATED:") == 2
    assert f"{tiny_run.run}/model-4" in out.stdout and f"{tiny_run.run}/best/model-4" in out.stdout
