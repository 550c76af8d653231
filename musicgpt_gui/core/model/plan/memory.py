"""The memory plan: how many bytes a finetuning run needs, whether the device has them, and what fits if not.

Out-of-memory is gpt-2-simple's most common complaint, and it comes minutes into a run.  The estimate
here is plain arithmetic on the hparams (no TensorFlow), so the GUI and ``musicgpt train --plan`` can say
before Start whether a run fits and which micro-batch (with gradient accumulation keeping the
effective batch) would.  The coefficients count the float32 tensors gpt-2-simple's graph keeps for the
backward pass; bench/bench_memory_plan.py checks the total against measured peak RSS on the CPU
(bench/results/memory-plan.txt).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

FLOAT_BYTES = 4  # float32 weights, optimizer state and activations
GB = 1e9
# Tensors the training graph keeps per layer and example, counted from gpt-2-simple's model.py:
# in units of window x width (layer norms, q/k/v and their head transposes, the MLP's 4x-wide
# tanh-GELU intermediates, projections and residuals) ...
ACTIVATIONS_PER_LAYER = 48
# ... and of heads x window x window (scores, scaled, masked, exp and softmax; attention grows with window²).
ATTENTION_PER_LAYER = 6
LOGIT_COPIES = 4  # logits, their shifted slice, softmax and its gradient: batch x window x vocabulary each
# What the process needs besides the model: TensorFlow's CPU runtime, the app and its libraries (peak RSS of a
# 1-parameter run, bench/results/memory-plan.txt), and on a GPU its cuBLAS/cuDNN workspaces (not measured: no GPU).
RUNTIME_BYTES = {"CPU": int(0.8 * GB), "GPU": int(0.3 * GB)}
WINDOW_STEP = 16  # shorter windows are proposed in these steps (the shortest training window)
# Mixed precision (GPU only): float16 activations (about half the bytes, the loss and softmax stay float32
# in TensorFlow's rewrite) and a float16 copy of the weights beside the float32 master weights.  Not measured.
MIXED_ACTIVATION_SHARE = 0.55
HEADROOM = 0.9  # a run is planned to fit in 90% of the device's free memory (fragmentation, the sampler)

# GPT-2's shapes, so a model not yet downloaded can be planned.
GPT2_HPARAMS = {
    "124M": dict(n_vocab=50257, n_ctx=1024, n_embd=768, n_head=12, n_layer=12),
    "355M": dict(n_vocab=50257, n_ctx=1024, n_embd=1024, n_head=16, n_layer=24),
}


@dataclass(frozen=True)
class Device:
    """A device a run can use, with the memory free for it (bytes)."""

    name: str  # TensorFlow's short name: CPU, CPU:1, GPU:0
    kind: str  # CPU | GPU
    label: str  # for people: "GPU:0 (NVIDIA GeForce RTX 3070)"
    free_bytes: int


@dataclass(frozen=True)
class Estimate:
    """Bytes per part of a run on its busiest device."""

    weights: int
    adam: int
    gradients: int
    accumulator: int
    activations: int
    runtime: int

    @property
    def total(self) -> int:
        return self.weights + self.adam + self.gradients + self.accumulator + self.activations + self.runtime


@dataclass(frozen=True)
class Plan:
    """One run's estimate against one device, and the largest micro-batch that fits when it does not."""

    model: str
    batch_size: int
    accumulate: int
    window: int
    estimate: Estimate
    device: Device
    devices: int = 1
    fit_batch: Optional[int] = None  # the proposal; None when the run fits as it is or nothing fits
    fit_accumulate: Optional[int] = None
    fit_estimate: Optional[Estimate] = None
    fit_window: Optional[int] = None  # when no micro-batch fits: the longest window one example at a time fits in
    saved_by_mixed: int = 0  # bytes mixed precision saves (0 when it is off or on the CPU)

    @property
    def fits(self) -> bool:
        return self.estimate.total <= self.device.free_bytes * HEADROOM

    @property
    def line(self) -> str:
        """The one line the GUI and the CLI show before Start."""
        accumulated = f" (× {self.accumulate} accumulated)" if self.accumulate > 1 else ""
        where = self.device.label + (f" × {self.devices}" if self.devices > 1 else "")
        head = (
            f"{self.model}, {self.batch_size} × {self.window} tokens{accumulated}: about "
            f"{gb(self.estimate.total)} of {gb(self.device.free_bytes)} free on {where}"
        )
        if self.saved_by_mixed:
            head += f" with mixed precision (saves about {gb(self.saved_by_mixed)})"
        if self.fits:
            return head + " — fits."
        if self.fit_batch is None and self.fit_window:
            micro = self.devices
            steps = max(1, self.batch_size * self.accumulate // micro)
            return (
                head + f" — does not fit, even one example at a time; micro-batch {micro}{accumulated_by(steps)} "
                f"fits with windows of up to {self.fit_window} tokens (about {gb(self.fit_estimate.total)})."
            )
        if self.fit_batch is None:
            return head + " — does not fit, even one short example at a time; use a smaller model."
        same = self.batch_size * self.accumulate
        return (
            head + f" — does not fit; micro-batch {self.fit_batch} × {self.fit_accumulate} accumulated "
            f"(the same {same} examples per step) needs about {gb(self.fit_estimate.total)}."
        )


def accumulated_by(steps: int) -> str:
    return f" × {steps} accumulated" if steps > 1 else ""


def gb(n: int) -> str:
    return f"{n / GB:.1f} GB" if n >= 0.1 * GB else f"{n / 1e6:.0f} MB"


def parameters(hparams: dict[str, int]) -> int:
    """GPT-2's parameter count: embeddings, 12 d² + 13 d per layer, the final norm."""
    d, layers = hparams["n_embd"], hparams["n_layer"]
    return (hparams["n_vocab"] + hparams["n_ctx"]) * d + layers * (12 * d * d + 13 * d) + 2 * d


def size_name(hparams: dict[str, int]) -> str:
    """'124M' for GPT-2 small: the parameter count as GPT-2's names give it."""
    n = parameters(hparams)
    return f"{n / 1e6:.0f}M" if n >= 1e6 else f"{n / 1e3:.0f}K"


def estimate(
    hparams: dict[str, int],
    batch_size: int,
    window: int,
    accumulate: int = 1,
    *,
    kind: str = "CPU",
    devices: int = 1,
    mixed: bool = False,
) -> Estimate:
    """Bytes on the busiest device (the first: it holds the weights and Adam's state) for one training step.

    With several devices each tower gets ``batch_size / devices`` examples and its own gradients.
    ``mixed`` (mixed precision) counts only on a GPU: the CPU trains in float32 whatever is asked.
    """
    mixed = mixed and kind == "GPU"
    n = parameters(hparams) * FLOAT_BYTES
    per_device = max(1, -(-batch_size // devices))
    d, heads, layers, vocab = hparams["n_embd"], hparams["n_head"], hparams["n_layer"], hparams["n_vocab"]
    per_example = layers * (ACTIVATIONS_PER_LAYER * window * d + ATTENTION_PER_LAYER * heads * window * window)
    per_example += LOGIT_COPIES * window * vocab
    activations = per_device * per_example * FLOAT_BYTES
    return Estimate(
        weights=n + (n // 2 if mixed else 0),
        adam=2 * n,
        gradients=n,
        accumulator=n if accumulate > 1 else 0,
        activations=int(activations * MIXED_ACTIVATION_SHARE) if mixed else activations,
        runtime=RUNTIME_BYTES.get(kind, RUNTIME_BYTES["GPU"]),
    )


def plan(
    model: str,
    hparams: dict[str, int],
    batch_size: int,
    window: int,
    accumulate: int,
    device: Device,
    devices: int = 1,
    mixed: bool = False,
) -> Plan:
    """The estimate against ``device``; when it does not fit, the largest micro-batch that does.

    The proposal keeps the effective batch (micro-batch × accumulation) whenever a divisor of it
    fits, and stays divisible by the number of devices.
    """
    window = min(window, hparams["n_ctx"])
    first = estimate(hparams, batch_size, window, accumulate, kind=device.kind, devices=devices, mixed=mixed)
    full = estimate(hparams, batch_size, window, accumulate, kind=device.kind, devices=devices)
    saved = full.total - first.total
    result = Plan(model, batch_size, accumulate, window, first, device, devices, saved_by_mixed=saved)
    if result.fits:
        return result
    effective = batch_size * accumulate
    for micro in range(batch_size - 1, 0, -1):
        if effective % micro or micro % devices:
            continue
        steps = effective // micro
        guess = estimate(hparams, micro, window, steps, kind=device.kind, devices=devices, mixed=mixed)
        if guess.total <= device.free_bytes * HEADROOM:
            return replace(result, fit_batch=micro, fit_accumulate=steps, fit_estimate=guess)
    for shorter in range(window - WINDOW_STEP, 0, -WINDOW_STEP):  # one example per device, same effective batch
        steps = max(1, effective // devices)
        guess = estimate(hparams, devices, shorter, steps, kind=device.kind, devices=devices, mixed=mixed)
        if guess.total <= device.free_bytes * HEADROOM:
            return replace(result, fit_window=shorter, fit_estimate=guess)
    return result
