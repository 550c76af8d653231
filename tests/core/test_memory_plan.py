"""The memory plan: GPT-2's sizes, attention growing with window², the fit proposal, the devices and the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from musicgpt_gui.cli import main
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.model import workflows
from musicgpt_gui.core.model.plan import devices, memory
from musicgpt_gui.core.model.train import training

GB8 = memory.Device("GPU:0", "GPU", "GPU:0 (an 8 GB card)", 8 * 10**9)


def test_gpt2_sizes_are_named_by_their_parameter_count() -> None:
    assert memory.parameters(memory.GPT2_HPARAMS["124M"]) == pytest.approx(124.4e6, rel=0.002)
    assert [memory.size_name(memory.GPT2_HPARAMS[s]) for s in ("124M", "355M")] == ["124M", "355M"]


def test_attention_grows_with_the_window_squared_and_the_rest_linearly() -> None:
    h = memory.GPT2_HPARAMS["124M"]
    act = {t: memory.estimate(h, 1, t).activations for t in (128, 256, 512)}
    # a(t) = linear * t + square * t²: the excess over doubling quadruples when the window doubles
    assert (act[512] - 2 * act[256]) == 4 * (act[256] - 2 * act[128]) > 0
    one, two = memory.estimate(h, 1, 512), memory.estimate(h, 2, 512)
    assert two.activations == 2 * one.activations and two.weights == one.weights
    assert memory.estimate(h, 1, 512, accumulate=2).accumulator == one.weights > 0 == one.accumulator
    assert one.adam == 2 * one.weights  # Adam's two moments


def test_an_8_gb_gpu_and_355m_says_before_start_whether_it_fits_and_with_what_batch() -> None:
    small = memory.plan("124M", memory.GPT2_HPARAMS["124M"], 2, 512, 1, GB8)
    assert small.fits and small.line.startswith("124M, 2 × 512 tokens: about ") and "of 8.0 GB" in small.line
    big = memory.plan("355M", memory.GPT2_HPARAMS["355M"], 1, 1024, 1, GB8)
    assert not big.fits and "does not fit" in big.line
    assert big.fit_window and big.fit_estimate.total <= GB8.free_bytes * memory.HEADROOM
    assert f"windows of up to {big.fit_window} tokens" in big.line
    too_long = memory.estimate(memory.GPT2_HPARAMS["355M"], 1, big.fit_window + memory.WINDOW_STEP, kind="GPU")
    assert too_long.total > GB8.free_bytes * memory.HEADROOM  # the longest window that fits


def test_the_proposal_is_the_largest_micro_batch_that_fits_with_the_same_effective_batch() -> None:
    h = memory.GPT2_HPARAMS["124M"]
    planned = memory.plan("124M", h, 8, 256, 2, GB8)
    assert not planned.fits and planned.fit_batch is not None
    assert planned.fit_batch * planned.fit_accumulate == 16
    limit = GB8.free_bytes * memory.HEADROOM
    assert planned.fit_estimate.total <= limit
    bigger = [b for b in range(planned.fit_batch + 1, 8) if 16 % b == 0]
    assert all(memory.estimate(h, b, 256, 16 // b, kind="GPU").total > limit for b in bigger)
    assert f"micro-batch {planned.fit_batch} × {planned.fit_accumulate} accumulated" in planned.line
    assert memory.plan("124M", h, 8, 256, 1, GB8, devices=2).fits  # each device holds half the activations
    two = memory.plan("124M", h, 32, 256, 1, GB8, devices=2)
    assert (two.fit_batch, two.fit_accumulate) == (8, 4)  # and the micro-batch stays divisible by the devices


def test_the_cpu_plans_against_available_ram() -> None:
    meminfo = Path("/proc/meminfo").read_text()
    available = int(next(line for line in meminfo.splitlines() if line.startswith("MemAvailable:")).split()[1])
    assert devices.cpu_device().free_bytes == pytest.approx(available * 1024, rel=0.1)
    found = devices.list_devices()
    assert [d.name for d in found] == ["CPU"] and found[0].kind == "CPU"
    assert devices.pick(found, ["cpu"]) == found
    with pytest.raises(JobError, match="No device GPU:3 here; TensorFlow sees: CPU"):
        devices.pick(found, ["GPU:3"])


def test_apply_plan_keeps_the_effective_batch(tiny_model, tiny_dataset: Path) -> None:
    workspace, model = tiny_model
    cfg = training.TrainConfig(workspace=workspace, dataset=tiny_dataset, base=model.name, batch_size=8, accumulate=2)
    label, hparams = workflows.planned_model(workspace, model.name)
    assert hparams == model.hparams and model.name in label
    planned = memory.plan(label, memory.GPT2_HPARAMS["124M"], 8, 256, 2, GB8)
    fitted = workflows.apply_plan(cfg, planned)
    assert (fitted.batch_size, fitted.accumulate) == (planned.fit_batch, planned.fit_accumulate)
    assert fitted.batch_size * fitted.accumulate == 16
    assert workflows.planned_model(workspace, "355M")[1] == memory.GPT2_HPARAMS["355M"]  # before any download


def test_cli_plan_prints_the_line_and_trains_nothing(workspace, tiny_model, tiny_dataset: Path, capsys) -> None:
    shutil.copytree(tiny_model[1].path, workspace.models / "tiny")
    shutil.copytree(tiny_dataset, workspace.datasets / "bach")
    base = ["train", "--dataset", "bach", "--base", "tiny", "--run", "planned"]
    assert main([*base, "--plan", "--batch-size", "2", "--window", "64"]) == 0
    out = capsys.readouterr().out
    assert "2 × 64 tokens: about" in out and "free on CPU RAM — fits." in out
    assert not (workspace.checkpoint / "planned").exists()
    # 512 windows of 1024 tokens need tens of GB of activations even for the tiny model
    assert main([*base, "--plan", "--fit", "--batch-size", "512", "--window", "1024"]) == 0
    out = capsys.readouterr().out
    assert "does not fit; micro-batch" in out and "with --fit: micro-batch" in out and "× " in out
    assert main(["train", "--list-devices"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("CPU ")


def test_mixed_precision_saves_on_a_gpu_only_and_the_plan_says_how_much() -> None:
    h = memory.GPT2_HPARAMS["124M"]
    mixed = memory.plan("124M", h, 1, 1024, 1, GB8, mixed=True)
    full = memory.plan("124M", h, 1, 1024, 1, GB8)
    assert mixed.estimate.activations < full.estimate.activations and mixed.estimate.weights > full.estimate.weights
    assert mixed.saved_by_mixed == full.estimate.total - mixed.estimate.total > 0
    assert f"with mixed precision (saves about {memory.gb(mixed.saved_by_mixed)})" in mixed.line
    cpu = memory.Device("CPU", "CPU", "CPU RAM", 64 * 10**9)
    on_cpu = memory.plan("124M", h, 1, 1024, 1, cpu, mixed=True)
    assert on_cpu.estimate == memory.plan("124M", h, 1, 1024, 1, cpu).estimate and "mixed" not in on_cpu.line


def test_mixed_precision_is_off_on_the_cpu(tiny_model, tiny_dataset: Path) -> None:
    from tests.core.train_config import config

    result = training.train(config(tiny_model, tiny_dataset, "mixed", steps=1, mixed_precision=True))
    assert result.step == 1 and any("mixed precision is off on the CPU" in note for note in result.notes)
