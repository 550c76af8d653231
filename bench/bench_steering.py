"""Benchmark: hard constraints at sampling -- adherence, cost and speed, per control.

From a trained run, the opening 16 items of validation pieces are continued twice with the same
seeds: free (no mask) and steered (one control at a time).  For each control:

* adherence: the share of generated bars that keep it, measured from the parsed notes (not from
  the masks), for the steered takes and for the free ones (the chance baseline);
* cost: bits per element of the generated items under an independent judge, the Kneser-Ney n-gram
  fitted on the run's training tokens (steered vs free), and musical metrics (key clarity, in scale);
* speed: tokens per second, steered vs free, in this run (CPU seconds, steadier on a shared machine).

    PYTHONPATH=$PWD .venv/bin/python bench/bench_steering.py --run WS/checkpoint/RUN [--pieces 20]
        [--tokens 200] [--variations 2] [--out bench/results/steering.txt]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from bench_infill_rerank import bits, judge
from bench_output import publish

PREFIX_ITEMS = 16
CONTROLS = {
    "key (the prefix's, 0 chromatic/bar)": ("key", dict(key="prefix")),
    "range C3:C5": ("range", dict(low=48, high=72)),
    "voices <= 3": ("voices", dict(max_voices=3)),
    "rhythm: >= 1/8, no triplets": ("rhythm", dict(min_length=Fraction(1, 2), no_triplets=True)),
    "no repeated 4-item runs": ("no_repeat", dict(no_repeat=4)),
}


def takes(generator, prefixes, settings, memorization):
    """(texts per prefix, CPU seconds, tokens sampled) of one pass over the prefixes."""
    out, cpu, tokens = [], 0.0, 0
    for k, prefix in enumerate(prefixes):
        began = time.process_time()
        result = generator.generate(prefix, replace(settings, seed=k), memorization=memorization)
        cpu += time.process_time() - began
        tokens += sum(len(v.tokens) for v in result.variations)
        out.append([v.text for v in result.variations])
    return out, cpu, tokens


def scored(texts, prefixes, steering, encoder, stick):
    """Adherence, judged bits per element, in-scale share and key clarity of the takes."""
    from musicgpt_gui.core.model.steer.measure import Adherence, measure
    from musicgpt_gui.core.model.steer.session import scale_for
    from musicgpt_gui.core.model.store import vocab
    from musicgpt_gui.core.music.notation import SEP, parse_text
    from musicgpt_gui.core.quality.metrics import text_metrics

    kept, total_bits, elements, in_scale, clarity = Adherence(), 0.0, 0, [], []
    for prefix, variations in zip(prefixes, texts):
        scale = scale_for(steering, prefix)
        context = [encoder.eot] + encoder.encode(prefix + SEP.strip())
        for text in variations:
            if not text:
                continue
            kept.add(measure(f"{prefix}{SEP}{text}", parse_text(prefix).length, steering, scale))
            total_bits += bits(stick, encoder.encode(" " + text), context)
            elements += vocab.count_elements(text)
            m = text_metrics(text)
            in_scale.append(m.in_scale)
            clarity.append(m.key_clarity)
    return kept, total_bits / max(elements, 1), _mean(in_scale), _mean(clarity)


def _mean(values) -> float:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--pieces", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--variations", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from musicgpt_gui.core.dataset.memorization import MemorizationIndex
    from musicgpt_gui.core.model.sample.generation import GenerationSettings, Generator
    from musicgpt_gui.core.model.steer.constraints import Steering
    from musicgpt_gui.core.model.store import checkpoints
    from musicgpt_gui.core.music.notation import join_items, split_items

    began = time.time()
    encoder, stick, valid = judge(args.run)
    dataset = checkpoints.training_dataset(args.run)
    memorization = MemorizationIndex.from_dataset(dataset)
    prefixes = [join_items(split_items(t)[:PREFIX_ITEMS]) for t in valid[: args.pieces]]
    generator = Generator(checkpoints.resolve_checkpoint(args.run, "best"))
    base = GenerationSettings(length=args.tokens, variations=args.variations)
    free, free_cpu, free_tokens = takes(generator, prefixes, base, memorization)
    lines = [
        f"bench_steering: {platform.platform()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at start",
        f"run {args.run.name} ({generator.checkpoint.prefix.rsplit('/', 1)[-1]}, best), dataset {dataset.name}: "
        f"{len(prefixes)} validation openings of {PREFIX_ITEMS} items x {args.variations} variations x "
        f"{args.tokens} tokens; temperature {base.temperature}, top-k {base.top_k}; same seeds steered and free",
        "adherence = share of generated bars keeping the control, measured from the parsed notes; judge = KN "
        f"n-gram (order {stick.order}) bits per element of the generated items",
        "",
        f"{'control':38} {'bars':>5} {'steered':>8} {'free':>6}  {'bits/el':>7} {'free':>6}  "
        f"{'in scale':>8} {'free':>5}  {'clarity':>7} {'free':>5}  {'tok/s':>6} {'ratio':>5}",
    ]
    publish(lines, None)
    free_rate = free_tokens / free_cpu
    rows = []
    for label, (name, fields) in CONTROLS.items():
        steering = Steering(**fields)
        steered, cpu, tokens = takes(generator, prefixes, replace(base, steering=steering), memorization)
        s_kept, s_bits, s_scale, s_clar = scored(steered, prefixes, steering, encoder, stick)
        f_kept, f_bits, f_scale, f_clar = scored(free, prefixes, steering, encoder, stick)
        rate = tokens / cpu
        row = (f"{label:38} {s_kept.bars:5d} {s_kept.share(name):8.1%} {f_kept.share(name):6.1%}  {s_bits:7.3f} "
               f"{f_bits:6.3f}  {s_scale:8.1%} {f_scale:5.1%}  {s_clar:7.2f} {f_clar:5.2f}  {rate:6.0f} "
               f"{rate / free_rate:5.2f}")
        publish([row], None)
        rows.append(row)
    lines += rows + [
        "",
        f"free: {free_rate:.0f} tokens per CPU second; ratio = steered / free tokens per CPU second (goal >= 0.9)",
        f"goal: every control kept in 100% of generated bars (>= 200 bars each); {time.time() - began:.0f} s in all, "
        f"load average {os.getloadavg()[0]:.1f} at the end",
    ]
    publish(lines[-3:], None)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    generator.close()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
