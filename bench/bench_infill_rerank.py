"""Benchmark: do the kept middles lead into what follows?  Sampled alone vs the best joins of three times as many.

On held-out 2-bar spans of the run's validation pieces (chosen in beats, as the piano roll's selection),
``infill`` makes the variations twice with the same seed: as sampled (``candidates=1``),
and as infilling does by default (the best joins of 3 x as many, core/model/sample/join_rank.py).  The
judge is not the transformer that chose them but the Kneser-Ney n-gram (best order on validation)
fitted on the run's training tokens:

* join: bits of the suffix's first bar after the prefix and the middle (how well the middle leads into it);
* middle: bits per element of the middle itself after the prefix (that the join did not cost the music);
* motion: semitones each voice moves from the chord sounding as the middle ends to the one as the suffix
  starts (voices paired top down; a chorale moves little there);
* the true middle's figures, for scale.

    .venv/bin/python bench/bench_infill_rerank.py --run WS/checkpoint/RUN [--spans 80] [--out FILE]
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from bench_infill import middle_spans, ratio_interval
from bench_output import publish


def judge(run_dir: Path):
    from musicgpt_gui.core.dataset import dataset_files
    from musicgpt_gui.core.model.store import checkpoints, vocab
    from musicgpt_gui.core.model.train import ngram, training_data

    encoder = vocab.load_encoder(run_dir)
    dataset = checkpoints.training_dataset(run_dir)
    data = training_data.load_data(dataset, encoder)
    stick = ngram.fit_yardstick(data.train, data.valid, encoder.n_vocab, data.valid_tokens_per_element)
    return encoder, stick, dataset_files.load_split(dataset, dataset_files.VALID)


def bits(model, tokens: list[int], context: list[int]) -> float:
    return float(model.bits_by_order(tokens, context[-model.max_order :])[model.order - 1].sum())


def judged(model, encoder, middles: list[str], prefix: list[int], head: list[int]) -> tuple[float, float, float]:
    """(mean join bits, summed middle bits, summed middle elements) of ``middles`` between ``prefix`` and ``head``."""
    from musicgpt_gui.core.model.store import vocab
    from musicgpt_gui.core.music.notation import SEP

    joins, own, elements = [], [], []
    for m in middles:
        tokens = encoder.encode(" " + m + SEP.strip())
        joins.append(bits(model, head, prefix + tokens))
        own.append(bits(model, tokens, prefix))
        elements.append(vocab.count_elements(m))
    return float(np.mean(joins)), float(np.sum(own)), float(np.sum(elements))


def join_motion(text: str, at) -> float:
    """Mean semitones per voice from the chord sounding just before beat ``at`` of ``text`` to the one just after."""
    from musicgpt_gui.core.music.notation import parse_text

    notes = parse_text(text).notes
    before = sorted((n.pitch for n in notes if n.onset < at <= n.onset + n.duration), reverse=True)
    after = sorted((n.pitch for n in notes if n.onset <= at < n.onset + n.duration), reverse=True)
    pairs = list(zip(before, after))
    return float(np.mean([abs(a - b) for a, b in pairs])) if pairs else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--spans", type=int, default=80)
    parser.add_argument("--variations", type=int, default=3)
    parser.add_argument("--candidates", type=int, help="middles sampled per variation kept (default: infilling's)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from musicgpt_gui.core.model.store import checkpoints
    from musicgpt_gui.core.model.sample import join_rank
    from musicgpt_gui.core.model.sample.generation import GenerationSettings, Generator
    from musicgpt_gui.core.model.sample.infill import infill, locate_items
    from musicgpt_gui.core.music.notation import SEP, join_items

    per_variation = args.candidates or join_rank.CANDIDATES_PER_VARIATION
    began = time.monotonic()
    encoder, stick, valid = judge(args.run)
    model = stick.model
    which = "best" if (args.run / "best").is_dir() else "latest"
    generator = Generator(checkpoints.resolve_checkpoint(args.run, which))
    spans = middle_spans(valid, 2, np.random.default_rng(0), per_piece=2)[: args.spans]
    settings = GenerationSettings(length=200, variations=args.variations, seed=0)
    rows = {"sampled": [], "ranked": [], "true": []}  # per span: (join bits, middle bits, elements, motion)
    seconds = {"sampled": 0.0, "ranked": 0.0}
    for k, (before, middle, after) in enumerate(spans):
        text = join_items(before + middle + after)
        span = replace(locate_items(text, len(before), len(before) + len(middle)), bounded=True)
        prefix = [encoder.eot] + encoder.encode(join_items(before) + SEP.strip())
        head = join_rank.join_head(encoder, after, before, generator.context)
        at = span.onset + span.gap
        rows["true"].append((*judged(model, encoder, [join_items(middle)], prefix, head), join_motion(text, at)))
        for label, per in (("sampled", 1), ("ranked", per_variation)):
            t0 = time.monotonic()
            result = infill(generator, text, span, replace(settings, seed=k), candidates=per)
            seconds[label] += time.monotonic() - t0
            moves = [m for m in (join_motion(result.full_text(v.index), at) for v in result.variations) if m == m]
            motion = float(np.mean(moves)) if moves else float("nan")
            rows[label].append((*judged(model, encoder, [v.parsed.text for v in result.variations], prefix, head),
                                motion))
    generator.close()

    table = {label: np.array(v) for label, v in rows.items()}
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"bench_infill_rerank --run {args.run.name} {now}; {platform.machine()}, Python {platform.python_version()}",
        f"{len(spans)} held-out spans of 2 bars (chosen in beats), {args.variations} variations each, seed = span "
        f"number; judge: Kneser-Ney {stick.order}-gram on the run's training tokens "
        f"({stick.bits_per_element:.3f} bits per element on validation); {which} checkpoint; "
        f"{time.monotonic() - began:.0f} s in all",
        "",
        f"{'kept middles':<34} {'join: bits of the next bar':>27} {'middle: bits per element':>25} "
        f"{'motion: semitones per voice':>28} {'s per span':>11}",
    ]
    names = {"sampled": "as sampled", "ranked": f"best joins of {per_variation}x as many",
             "true": "the true middle (for scale)"}
    for label, values in table.items():
        per_span = f"{seconds[label] / len(spans):11.2f}" if label in seconds else f"{'':>11}"
        lines.append(f"{names[label]:<34} {values[:, 0].mean():27.2f} {values[:, 1].sum() / values[:, 2].sum():25.3f}"
                     f" {np.nanmean(values[:, 3]):28.2f}{per_span}")
    ranked, sampled = table["ranked"], table["sampled"]
    low, high = ratio_interval(ranked[:, 0], sampled[:, 0])
    lines += ["", f"join, best joins vs as sampled: {ranked[:, 0].sum() / sampled[:, 0].sum():.3f}x the bits "
                  f"(95% interval over spans {low:.3f}x-{high:.3f}x)"]
    low, high = ratio_interval(ranked[:, 1], sampled[:, 1])
    lines.append(f"middle, best joins vs as sampled: {ranked[:, 1].sum() / sampled[:, 1].sum():.3f}x the bits "
                 f"(95% interval over spans {low:.3f}x-{high:.3f}x)")
    moved = ~np.isnan(ranked[:, 3]) & ~np.isnan(sampled[:, 3])
    low, high = ratio_interval(ranked[moved, 3], sampled[moved, 3])
    ratio = ranked[moved, 3].sum() / sampled[moved, 3].sum()
    lines.append(f"motion at the join, best joins vs as sampled: {ratio:.3f}x the semitones per voice "
                 f"(95% interval over spans {low:.3f}x-{high:.3f}x)")
    publish(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
