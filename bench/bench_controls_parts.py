"""Benchmark: learned controls per part (a ``--controls`` run trained on pieces with parts, e.g. POP909 imported
with a part per track) -- how well each part's own density, polyphony and pitch bins steer.

Openings of two bars of the validation pieces (their header declares the parts) are continued with, for every
declared part that has bins, a density, polyphony and pitch bin asked at random (a drum part: density only), or
with ``--one`` one of those for one part (as a user asks: "the bass sparser"), and nothing asked of the whole
piece; as the baseline, with nothing asked (the model writes its own controls).  With
``--redraws N`` the asked takes are also written bar by bar, a bar that misses redrawn up to N times
(model/piecewise.py), and "learned only" is the asked take without redraws.  Reported per attribute and per
part: the share of complete generated bars in which the part's measured value lands in the asked-for bin (a bar
in which the part does not play misses).

    PYTHONPATH=$PWD .venv/bin/python bench/bench_controls_parts.py --controls-run WS/checkpoint/RUN \
        [--tokens 240] [--variations 2] [--pieces 0] [--redraws 0] [--out bench/results/controls-parts.txt]
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

from bench_controls import OPENING_BARS, opening, which
from bench_output import publish

MODES = ("asked", "learned", "free")


def part_request(bins, parts, rng: random.Random, one: bool = False):
    """Bins at random for each declared part with bins of its own (drums: density only); ``one``: one attribute
    of one part only, as a user asks it ("the bass sparser")."""
    from musicgpt_gui.core.model.controls.annotate import PART_SLOTS
    from musicgpt_gui.core.model.controls.request import ControlRequest

    asked = []
    for number, part in enumerate(parts, start=1):
        if str(number) not in bins.parts:
            continue
        for name in ("density",) if part.drums else PART_SLOTS:
            asked.append((number, name, (rng.randrange(bins.count(name, number)),)))
    return ControlRequest(parts=(rng.choice(asked),) if one and asked else tuple(asked))


def judge(bins, request, text: str, first_bar: int, counts: dict, mode: str) -> None:
    from musicgpt_gui.core.model.controls.attributes import bar_values

    for bar in bar_values(text, complete_only=True):
        if bar.index < first_bar:
            continue
        for number, name, values in request.parts:
            mine = bar.parts.get(number)
            got = bins.bin(name, mine.value(name), number) if mine is not None else None
            cell = counts.setdefault((mode, name, number), [0, 0])
            cell[0] += got == values[0]
            cell[1] += 1


def run(generator, bins, prefixes, requests, settings, redraws: int) -> tuple[dict, dict]:
    from musicgpt_gui.core.model.controls.attributes import clock_after
    from musicgpt_gui.core.model.controls.request import ControlRequest
    from musicgpt_gui.core.model.piecewise import checked_takes
    from musicgpt_gui.core.music.notation import split_items

    counts: dict = {}
    seconds = dict.fromkeys(MODES, 0.0)
    for k, (prefix, request) in enumerate(zip(prefixes, requests)):
        first_bar = clock_after(split_items(prefix)).index()
        modes = [("asked", request), *([("learned", request)] if redraws else []), ("free", ControlRequest())]
        for mode, asked in modes:
            began = time.process_time()
            one = replace(settings, seed=k, controls=asked)
            result = checked_takes(generator, prefix, one, bins, redraws) if mode == "asked" and redraws \
                else generator.generate(prefix, one)
            seconds[mode] += time.process_time() - began
            for v in result.variations:
                judge(bins, request, result.full_text(v.index), first_bar, counts, mode)
    return counts, seconds


def share(cells: list) -> str:
    hits, total = sum(c[0] for c in cells), sum(c[1] for c in cells)
    return f"{hits / max(total, 1):6.1%} of {total:4d}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--controls-run", type=Path, required=True)
    parser.add_argument("--tokens", type=int, default=240)
    parser.add_argument("--variations", type=int, default=2)
    parser.add_argument("--pieces", type=int, default=0, help="validation pieces (0: all)")
    parser.add_argument("--redraws", type=int, default=0)
    parser.add_argument("--one", action="store_true", help="ask one attribute of one part per piece, not all")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from musicgpt_gui.core.dataset import dataset_files
    from musicgpt_gui.core.model.controls.annotate import PART_SLOTS
    from musicgpt_gui.core.model.controls.bins import ControlBins
    from musicgpt_gui.core.model.sample.generation import GenerationSettings, Generator
    from musicgpt_gui.core.model.store import checkpoints
    from musicgpt_gui.core.music.notation import parse_text

    began = time.time()
    bins = ControlBins.load(args.controls_run)
    if bins is None or not bins.has_parts:
        raise SystemExit(f"{args.controls_run} has no controls per part (train --controls on pieces with parts)")
    dataset = checkpoints.training_dataset(args.controls_run)
    valid = dataset_files.load_split(dataset, dataset_files.VALID)
    valid = [t for t in (valid[: args.pieces] if args.pieces else valid) if len(parse_text(opening(t, 0)).parts) > 1]
    rng = random.Random(0)
    prefixes = [opening(t, OPENING_BARS) for t in valid]
    requests = [part_request(bins, parse_text(p).parts, rng, args.one) for p in prefixes]
    lines = [
        f"bench_controls_parts: {platform.platform()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at start",
        f"run {args.controls_run.name} (dataset {dataset.name}): {len(valid)} validation pieces with parts; "
        f"{len(prefixes)} openings of {OPENING_BARS} bars x {args.variations} variations x {args.tokens} tokens; "
        + ("one attribute of one part asked per piece, at random" if args.one else
           "every attribute of every part asked at once, bins at random"),
        "bins per part (training split quantiles over the bars the part plays in): " + "; ".join(
            f"part {p}: " + ", ".join(f"{n} {len(e[n]) + 1}" for n in PART_SLOTS)
            for p, e in sorted(bins.parts.items())),
    ]
    publish(lines, None)
    generator = Generator(checkpoints.resolve_checkpoint(args.controls_run, which(args.controls_run)))
    settings = GenerationSettings(length=args.tokens, variations=args.variations)
    counts, seconds = run(generator, bins, prefixes, requests, settings, args.redraws)
    generator.close()
    modes = [m for m in MODES if m != "learned" or args.redraws]
    label = {"asked": f"asked, {args.redraws} redraws" if args.redraws else "asked", "learned": "learned only",
             "free": "free (model's own)"}
    rows = ["", "share of complete generated bars in which the part lands in the asked-for bin "
            "(a bar the part is silent in misses)"]
    for name in PART_SLOTS:
        rows.append(f"  {name:8} " + "   ".join(
            f"{label[m]} {share([c for (mm, n, _), c in counts.items() if mm == m and n == name])} bars"
            for m in modes))
        for number in sorted({p for (_, n, p) in counts if n == name}):
            rows.append(f"    part {number:2d} " + "   ".join(
                f"{label[m]} {share([counts.get((m, name, number), [0, 0])])}" for m in modes))
    rows += ["  goal (issue 26, as for the whole piece): density and polyphony >= 80% asked",
             "  (CPU seconds generating: " + ", ".join(f"{m} {v:.0f}" for m, v in seconds.items() if v) + ")",
             "", f"{time.time() - began:.0f} s in all, load average {os.getloadavg()[0]:.1f} at the end"]
    publish(rows, None)
    if args.out:
        args.out.write_text("\n".join(lines + rows) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
