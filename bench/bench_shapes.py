"""Model shapes for a new music model at the same wall-clock-equivalent budget (what 10 idle minutes give).

Bits at a fixed number of training tokens do not depend on the machine's load; wall time does.  So
each shape's training rate is first measured for ``--probe`` seconds (``probe`` pass, on an idle
machine, default threads), and each variant then trains a fresh model of its shape for the tokens
``--minutes`` at that rate give (``train`` pass; it may run on a loaded machine, or two at a time).
Everything else is the recipe (core/model/recipe.NEW_MODEL, FIM as fim.NEW_MODEL_RATE), one seed.
Validated 5 times, the best reported, beside the n-gram yardstick scored on the same positions.

    .venv/bin/python bench/bench_shapes.py --workspace WS probe [--only NAME ...]
    .venv/bin/python bench/bench_shapes.py --workspace WS train [--only NAME ...] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

SHAPES = {  # name: (layers, width, heads); 64 dimensions per head as in GPT-2
    "4x256": (4, 256, 4),
    "2x256": (2, 256, 4),
    "3x192": (3, 192, 3),
    "4x192": (4, 192, 3),
    "4x128": (4, 128, 2),
    "6x128": (6, 128, 2),
    "8x128": (8, 128, 2),
    "6x192": (6, 192, 3),
}
VALIDATIONS = 5  # per run; the best is reported (as bench_quality reads the best checkpoint)
RATES_FILE = "shape_rates.json"  # in the workspace: tokens/s per model, from the probe pass


@dataclass(frozen=True)
class Variant:
    name: str
    shape: str
    learning_rate: float = 1e-3
    transpose: int = 0
    prune: bool = True
    fim_rate: float = -1.0  # -1: fim.NEW_MODEL_RATE

    @property
    def model(self) -> str:
        return f"shape-{self.shape}-{'pruned' if self.prune else 'full'}"


VARIANTS = (
    Variant("4x256 full vocab, 1e-3", "4x256", prune=False),
    Variant("4x256, 1e-3", "4x256"),
    Variant("4x256, 2e-3", "4x256", 2e-3),
    Variant("4x256, 1e-3, transpose 2", "4x256", transpose=2),
    Variant("4x256, 1e-3, no FIM", "4x256", fim_rate=0.0),
    Variant("4x128, 2e-3", "4x128", 2e-3),
    Variant("4x128, 3e-3", "4x128", 3e-3),
    Variant("4x128, 2e-3, transpose 3", "4x128", 2e-3, transpose=3),
    Variant("6x128, 2e-3", "6x128", 2e-3),
    Variant("8x128, 2e-3", "8x128", 2e-3),
    Variant("3x192, 2e-3", "3x192", 2e-3),
    Variant("4x192, 2e-3", "4x192", 2e-3),
    Variant("6x192, 1.5e-3", "6x192", 1.5e-3),
    Variant("2x256, 2e-3", "2x256", 2e-3),
)


def ensure_model(workspace, dataset: Path, variant: Variant):
    from musicgpt_gui.core.model.store import models

    if (workspace.models / variant.model).is_dir():
        return models.get_model(workspace, variant.model)
    layers, width, heads = SHAPES[variant.shape]
    models.PRESETS[variant.shape] = dict(models.PRESETS["small"], n_layer=layers, n_embd=width, n_head=heads)
    return models.create_music_model(
        workspace, dataset, size=variant.shape, vocab_kind="atomic", name=variant.model, prune_vocab=variant.prune
    )


def config(workspace, dataset: Path, variant: Variant, threads: int, **overrides):
    from musicgpt_gui.core.model.train import fim, recipe, training

    chosen = recipe.NEW_MODEL
    settings = dict(
        workspace=workspace,
        dataset=dataset,
        base=variant.model,
        run="shapes-" + re.sub(r"[^A-Za-z0-9.-]+", "_", variant.name),
        overwrite=True,
        **{**asdict(chosen), "learning_rate": variant.learning_rate, "transpose": variant.transpose},
        fim_rate=fim.NEW_MODEL_RATE if variant.fim_rate < 0 else variant.fim_rate,
        sample_every=0,
        save_every=0,
        threads=threads,
    )
    settings.update(overrides)
    return training.TrainConfig(**settings)


def probe(workspace, dataset: Path, variants: list[Variant], seconds: float) -> None:
    """Training rate of each model: the best of all probes so far (other work on the machine only slows it)."""
    from musicgpt_gui.core.model.train import training

    rates_path = workspace.root / RATES_FILE
    rates = json.loads(rates_path.read_text()) if rates_path.is_file() else {}
    for model in dict.fromkeys(v.model for v in variants):
        variant = next(v for v in variants if v.model == model)
        info = ensure_model(workspace, dataset, variant)
        result = training.train(
            config(workspace, dataset, variant, 0, minutes=seconds / 60, validate_every=0, yardstick=False)
        )
        best = max(result.tokens_per_s, rates.get(model, {}).get("tokens_per_s", 0.0))  # the least disturbed probe
        rates[model] = dict(tokens_per_s=best, n_vocab=info.hparams["n_vocab"], params=params(info))
        print(f"{model:24} {info.hparams['n_vocab']:6d} tokens {params(info) / 1e6:5.2f}M parameters "
              f"{result.tokens_per_s:7.0f} tok/s (load {os.getloadavg()[0]:.1f})", flush=True)
        rates_path.write_text(json.dumps(rates, indent=2))


def params(info) -> int:
    h = info.hparams
    return h["n_vocab"] * h["n_embd"] + h["n_ctx"] * h["n_embd"] + h["n_layer"] * 12 * h["n_embd"] ** 2


def train(workspace, dataset: Path, variants: list[Variant], minutes: float, threads: int) -> None:
    from musicgpt_gui.core.model.train import recipe, training

    rates = json.loads((workspace.root / RATES_FILE).read_text())
    train_tokens = None
    for variant in variants:
        if variant.model not in rates:
            print(f"{variant.name}: no probed rate for {variant.model}; run the probe pass first")
            continue
        ensure_model(workspace, dataset, variant)
        rate = rates[variant.model]["tokens_per_s"]
        per_step = recipe.NEW_MODEL.batch_size * recipe.NEW_MODEL.window
        steps = max(1, int(rate * minutes * 60 / per_step))
        began = time.monotonic()
        cfg = config(workspace, dataset, variant, threads, steps=steps, validate_every=max(1, steps // VALIDATIONS))
        result = training.train(cfg)
        if train_tokens is None:
            from musicgpt_gui.core.model.train import training_data
            from musicgpt_gui.core.model.store import vocab

            train_tokens = len(training_data.load_data(dataset, vocab.load_encoder(result.run_dir)).train)
        yard = result.ngram["bits_per_element"]
        print(
            f"{variant.name:24} {rates[variant.model]['n_vocab']:6d} {rates[variant.model]['params'] / 1e6:6.2f}M "
            f"{rate:6.0f} {steps:6d} {steps * per_step / train_tokens:6.1f} {result.best_bits_per_element:9.3f} "
            f"{yard:7.3f} {result.best_bits_per_element / yard:6.2f} {time.monotonic() - began:7.0f} "
            f"{os.getloadavg()[0]:5.1f}",
            flush=True,
        )


def main() -> None:
    from musicgpt_gui.core.workspace import resolve_workspace

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True, help="holds the imported dataset")
    parser.add_argument("--dataset", default="bach")
    parser.add_argument("--minutes", type=float, default=10.0, help="the budget each variant's token count stands for")
    parser.add_argument("--probe", type=float, default=30.0, help="seconds of training per probe")
    parser.add_argument("--threads", type=int, default=0, help="threads per op in the train pass (0: TF's default)")
    parser.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    parser.add_argument("step", choices=("probe", "train"))
    args = parser.parse_args()
    workspace = resolve_workspace(args.workspace)
    dataset = workspace.datasets / args.dataset
    variants = [v for v in VARIANTS if not args.only or v.name in args.only]
    if args.step == "probe":
        probe(workspace, dataset, variants, args.probe)
        return
    print(f"{args.minutes:g} idle minutes of tokens per variant; batch 8 x 128; FIM and recipe defaults; seed 0")
    print(
        f"{'variant':24} {'vocab':>6} {'params':>7} {'tok/s':>6} {'steps':>6} {'epochs':>6} {'bits/elem':>9} "
        f"{'n-gram':>7} {'ratio':>6} {'wall s':>7} {'load':>5}",
        flush=True,
    )
    train(workspace, dataset, variants, args.minutes, args.threads)


if __name__ == "__main__":
    main()
