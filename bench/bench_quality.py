"""Benchmark: what a user gets from the same data and the same wall-clock budget, in one run.

(a) our defaults for a new music model (core/model/recipe.NEW_MODEL with FIM at fim.NEW_MODEL_RATE, as
``musicgpt train --new-model`` and the Finetune tab train), (b) gpt-2-simple's defaults (learning rate
1e-4, batch 1, 1024-token windows, constant rate, no FIM) and (c) the best interpolated Kneser-Ney
n-gram.  (a) and (b) train a fresh copy of the same new model (workflows.NEW_MODEL_SIZE, atomic
vocabulary) for ``--minutes`` each and are read at their best validated checkpoint.
Printed: validation bits per element (n-gram on the same positions as each model's
validation), and the musical metrics of ``--samples`` samples per model against the
validation pieces.  Goals (issue 13): bits <= 0.8 x the n-gram; sample in-scale share and
key clarity within 5 points of the validation data.

    .venv/bin/python bench/bench_quality.py [--minutes 10] [--samples 8] [--length 256] [--dataset DIR]
                                            [--out bench/results/quality.txt] [--workspace DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import numpy as np


def build(root: Path, imported: Optional[Path]):
    """A workspace with the 371 Bach chorales (timed; imported now unless given) and a fresh atomic model."""
    from musicgpt_gui.core.dataset.importer import ImportOptions, import_dataset
    from musicgpt_gui.core.model.store import models
    from musicgpt_gui.core.model import workflows
    from musicgpt_gui.core.workspace import resolve_workspace

    workspace = resolve_workspace(root)
    dataset = workspace.datasets / "bach"
    if imported:
        shutil.copytree(imported, dataset)
    else:
        import_dataset(["corpus:bach"], ImportOptions(workers=1), dataset)
    model = models.create_music_model(workspace, dataset, size=workflows.NEW_MODEL_SIZE, vocab_kind="atomic")
    return workspace, dataset, model


def train(workspace, dataset: Path, base: str, run: str, chosen, fim_rate: float, minutes: float):
    from musicgpt_gui.core.model.train import training

    cfg = training.TrainConfig(
        workspace=workspace,
        dataset=dataset,
        base=base,
        run=run,
        minutes=minutes,
        **asdict(chosen),
        fim_rate=fim_rate,
        sample_every=0,
        save_every=0,
    )
    return training.train(cfg)


def model_samples(run_dir: Path, count: int, length: int) -> list[str]:
    from musicgpt_gui.core.model.store import checkpoints
    from musicgpt_gui.core.model.sample.generation import GenerationSettings, Generator

    which = "best" if (run_dir / "best").is_dir() else "latest"
    generator = Generator(checkpoints.resolve_checkpoint(run_dir, which))
    try:
        result = generator.generate("", GenerationSettings(length=length, variations=count, seed=0))
    finally:
        generator.close()
    return [v.text for v in result.variations]


def ngram_samples(workspace, dataset: Path, base: str, count: int, length: int) -> tuple[list[str], object]:
    """The best n-gram over the whole validation split, and its samples (full distribution, no top-k)."""
    from musicgpt_gui.core.model.store import models, vocab
    from musicgpt_gui.core.model.train import ngram, training_data

    encoder = vocab.load_encoder(models.get_model(workspace, base).path)
    data = training_data.load_data(dataset, encoder)
    stick = ngram.fit_yardstick(data.train, data.valid, encoder.n_vocab, data.valid_tokens_per_element)
    rng = np.random.default_rng(0)
    texts = [encoder.decode(stick.model.sample(rng, length, encoder.eot, [encoder.eot])).strip() for _ in range(count)]
    return texts, stick


def main() -> None:
    from musicgpt_gui.core.dataset import dataset_files
    from musicgpt_gui.core.model.train import fim, recipe
    from musicgpt_gui.core.quality import metrics, report

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget per model (default: 10)")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--length", type=int, default=256, help="tokens per sample")
    parser.add_argument("--out", type=Path, help="also write the report here")
    parser.add_argument("--dataset", type=Path, help="an already imported Bach dataset folder (default: import now)")
    parser.add_argument("--workspace", type=Path, help="keep the workspace (models and runs) here (default: temporary)")
    args = parser.parse_args()

    lines: list[str] = []

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    with tempfile.TemporaryDirectory(prefix="bench-quality-") as tmp:
        workspace, dataset, model = build(args.workspace or Path(tmp), args.dataset)
        valid_texts = dataset_files.read_rows(dataset_files.split_path(dataset, dataset_files.VALID))
        valid = metrics.mean_metrics(valid_texts)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        say(f"bench_quality: {platform.platform()}, {os.cpu_count()} cores, load average {load:.1f} at start")
        say(f"budget {args.minutes:g} minutes per model; dataset: 371 Bach chorales (timed), model: {model.summary}")
        rows, figures = [("validation data", valid)], []
        for label, run, chosen, fim_rate in (
            ("(a) our defaults", "ours", recipe.NEW_MODEL, fim.NEW_MODEL_RATE),
            ("(b) gpt-2-simple defaults", "gpt2simple", recipe.GPT2_SIMPLE, 0.0),
        ):
            began = time.monotonic()
            result = train(workspace, dataset, model.name, run, chosen, fim_rate, args.minutes)
            texts = model_samples(result.run_dir, args.samples, args.length)
            rows.append((label, metrics.mean_metrics(texts, valid.pitch_classes)))
            figures.append(
                (label, result.best_bits_per_element, result.ngram, result.step, chosen, fim_rate,
                 time.monotonic() - began)
            )
        texts, stick = ngram_samples(workspace, dataset, model.name, args.samples, args.length)
        rows.append((f"(c) n-gram, n={stick.order}", metrics.mean_metrics(texts, valid.pitch_classes)))
        say(f"load average {os.getloadavg()[0]:.1f} at the end (this benchmark's own threads count too)")
        say()
        say(f"{'':28} {'steps':>6} {'bits/elem':>9} {'n-gram':>7} {'ratio':>6}  settings")
        for label, bits, yard, steps, chosen, fim_rate, seconds in figures:
            say(
                f"{label:28} {steps:6d} {bits:9.3f} {yard['bits_per_element']:7.3f} "
                f"{bits / yard['bits_per_element']:6.2f}  "
                f"lr {chosen.learning_rate:g} {chosen.schedule}, {chosen.batch_size}x{chosen.window}, "
                f"transpose {chosen.transpose}, FIM {fim_rate:g}; {seconds:.0f} s with sampling"
            )
        say(f"{'(c) n-gram, all validation':28} {'':6} {stick.bits_per_element:9.3f}   (order {stick.order})")
        say()
        say(f"sample metrics ({args.samples} samples of {args.length} tokens each; validation: {valid.pieces} pieces)")
        say(report.table(rows))
        a_bits, a_yard = figures[0][1], figures[0][2]["bits_per_element"]
        a = rows[1][1]
        say()
        say(f"goal bits <= 0.8 x n-gram: (a) reached {a_bits / a_yard:.2f}x")
        if a.in_scale is None:
            say("goal in-scale and key clarity: (a) gave no notes to measure")
        else:
            say(
                f"goal in-scale within 5 points of validation: (a) {100 * (a.in_scale - valid.in_scale):+.1f} points; "
                f"key clarity {100 * (a.key_clarity - valid.key_clarity):+.1f} points"
            )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
