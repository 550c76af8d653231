"""Measure training recipes at a fixed number of training tokens (not wall time: the machine is shared).

Each variant trains a fresh copy of the same new music model on the same dataset for the same
number of tokens (steps = tokens / (batch x window)) and is validated once at the end, in bits
per element, beside the n-gram yardstick scored on the same positions.  The choice of defaults
in core/model/train/recipe.py comes from this table (bench/results/recipe.txt).

    .venv/bin/python bench/bench_recipe.py --workspace WS --dataset bach --tokens 200000 [--only NAME ...]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

VOCAB_MODELS = {"atomic": "bach-small-atomic", "bpe": "bach-small-bpe"}


@dataclass(frozen=True)
class Variant:
    name: str
    vocab: str
    learning_rate: float
    schedule: str
    warmup_steps: int
    batch_size: int
    window: int
    transpose: int = 0


VARIANTS = (
    Variant("gpt-2-simple defaults", "atomic", 1e-4, "constant", 0, 1, 1024),
    Variant("issue: 1e-3, 4x256", "atomic", 1e-3, "constant", 0, 4, 256),
    Variant("cosine 2e-3, 8x128", "atomic", 2e-3, "cosine", 50, 8, 128),
    Variant("cosine 1e-3, 8x128", "atomic", 1e-3, "cosine", 50, 8, 128),
    Variant("cosine 2e-3, 8x128, transpose 5", "atomic", 2e-3, "cosine", 50, 8, 128, 5),
    Variant("cosine 2e-3, 8x128, bpe", "bpe", 2e-3, "cosine", 50, 8, 128),
    Variant("cosine 1e-3, 4x256", "atomic", 1e-3, "cosine", 50, 4, 256),
    Variant("cosine 1e-3, 8x128, transpose 5", "atomic", 1e-3, "cosine", 50, 8, 128, 5),
)


def run_variant(workspace, dataset: Path, variant: Variant, tokens: int) -> dict:
    from musicgpt_gui.core.model.train import training

    steps = max(1, tokens // (variant.batch_size * variant.window))
    cfg = training.TrainConfig(
        workspace=workspace,
        dataset=dataset,
        base=VOCAB_MODELS[variant.vocab],
        run="recipe",
        overwrite=True,
        steps=steps,
        batch_size=variant.batch_size,
        window=variant.window,
        learning_rate=variant.learning_rate,
        schedule=variant.schedule,
        warmup_steps=min(variant.warmup_steps, steps // 4),
        transpose=variant.transpose,
        validate_every=steps,
        sample_every=0,
        save_every=0,
    )
    began = time.monotonic()
    result = training.train(cfg)
    return dict(
        steps=steps,
        bits=result.best_bits_per_element,
        ngram=result.ngram["bits_per_element"],
        order=result.ngram["order"],
        tokens_per_s=result.tokens_per_s,
        seconds=time.monotonic() - began,
    )


def main() -> None:
    from musicgpt_gui.core.workspace import resolve_workspace

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, required=True, help="holds the dataset and the bach-small-* models")
    parser.add_argument("--dataset", default="bach")
    parser.add_argument("--tokens", type=int, default=200_000, help="training tokens per variant")
    parser.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    args = parser.parse_args()
    workspace = resolve_workspace(args.workspace)
    dataset = workspace.datasets / args.dataset
    print(f"dataset {dataset.name}, {args.tokens} training tokens per variant, small model (4 layers, 256 wide)")
    print(
        f"{'variant':36} {'steps':>6} {'bits/elem':>9} {'n-gram':>7} {'ratio':>6} {'tok/s':>6} {'wall s':>7}",
        flush=True,
    )
    for variant in VARIANTS:
        if args.only and variant.name not in args.only:
            continue
        r = run_variant(workspace, dataset, variant, args.tokens)
        print(
            f"{variant.name:36} {r['steps']:6d} {r['bits']:9.3f} {r['ngram']:7.3f} {r['bits'] / r['ngram']:6.2f} "
            f"{r['tokens_per_s']:6.0f} {r['seconds']:7.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
