"""Benchmark: learned controls (``musicgpt train --controls``) -- what they cost and how well they steer.

Two runs trained on the same dataset with the same time budget, one with ``--controls`` and one without:

* cost: validation bits per musical element, as each run's training validated it (history.json, best), and
  as scored here on every validation piece read the way generation reads (the trained window, sliding):
  the plain run on the plain text; the controls run on the text with control items, counting all tokens
  (the controls' own bits charged to the music) and only the music's tokens (given the controls);
  elements are always the plain text's, so the figures compare;
* adherence: openings of two bars of the validation pieces are continued with a density, polyphony and
  pitch bin asked for (drawn at random per piece, all three at once) and, as the baseline, with nothing
  asked (the model writes its own controls); the share of complete generated bars whose measured
  attribute lands in the asked-for bin;
* key: each validation piece's header (its items before the first note, the music21 key name left out) is
  continued with a key asked for (the validation pieces' own keys, shuffled) and without; the share of
  pieces where the asked-for key wins music21's Krumhansl-Schmuckler estimate of the generated notes (no
  scale mask).

    PYTHONPATH=$PWD .venv/bin/python bench/bench_controls.py --controls-run WS/checkpoint/RUN \
        --plain-run WS/checkpoint/RUN2 [--tokens 240] [--variations 2] [--out bench/results/controls.txt]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench_context import sliding_nats
from bench_infill import Scorer
from bench_output import publish

OPENING_BARS = 2


def history_bits(run_dir: Path) -> tuple[float, int]:
    history = json.loads((run_dir / "history.json").read_text())
    valid = [e["bits_per_element"] for e in history["valid"] if e.get("bits_per_element") is not None]
    return min(valid, default=float("nan")), history["train"][-1]["step"] if history["train"] else 0


def scored_bits(run_dir: Path, texts: list[str], annotate=None) -> tuple[float, float]:
    """(bits per plain element of all tokens, of the music's tokens only) over ``texts``, read sliding."""
    from musicgpt_gui.core.model.controls.forcer import control_tokens
    from musicgpt_gui.core.model.store import checkpoints, tf_runtime, vocab

    scorer = Scorer(run_dir, which(run_dir))
    encoder = scorer.encoder
    size = checkpoints.trained_context(run_dir, tf_runtime.read_hparams(run_dir))
    control = control_tokens(encoder).control if annotate else None
    comma = encoder.encode(",")[0]
    total = music = 0.0
    elements = 0
    for text in texts:
        ids = [encoder.eot] + encoder.encode(annotate(text) if annotate else text) + [encoder.eot]
        nats = sliding_nats(scorer, ids, size)
        total += nats.sum()
        if control is not None:
            targets = np.array(ids[1:])
            is_control = control[targets]
            after = np.concatenate([[False], is_control[:-1]]) & (targets == comma)  # the item's closing comma
            music += nats[~(is_control | after)].sum()
        else:
            music += nats.sum()
        elements += vocab.count_elements(text)
    scorer.model.close()
    return total / elements / math.log(2), music / elements / math.log(2)


def which(run_dir: Path) -> str:
    """The best (validated) checkpoint, else the latest."""
    return "best" if (run_dir / "best").is_dir() else "latest"


def opening(text: str, bars: int) -> str:
    """The items of ``text`` before its first note or rest in bar ``bars`` (its first ``bars`` bars)."""
    from musicgpt_gui.core.model.controls.attributes import BarClock, is_event
    from musicgpt_gui.core.music.notation import join_items, split_items

    clock, kept = BarClock(), []
    for item in split_items(text):
        if is_event(item) and clock.index() >= bars:
            break
        kept.append(item)
        clock.feed(item)
    return join_items(kept)


def header(text: str) -> str:
    """The items before the first note or rest, without music21's key name (``G major``)."""
    import re

    from musicgpt_gui.core.model.controls.attributes import is_event
    from musicgpt_gui.core.music.notation import join_items, split_items

    kept = []
    for item in split_items(text):
        if is_event(item):
            break
        if not re.match(r"^[A-Ga-g][#-]? (major|minor)$", item):
            kept.append(item)
    return join_items(kept)


def adherence(generator, bins, prefixes, requests, settings, redraws=0):
    """Per binned attribute: (bars in the asked-for bin, bars judged), asked and free; seconds (asked, free).
    With ``redraws``, the asked takes are written bar by bar, a bar that misses drawn again (model/piecewise.py)."""
    from musicgpt_gui.core.model.piecewise import checked_takes
    from musicgpt_gui.core.model.controls.attributes import bar_values
    from musicgpt_gui.core.model.controls.bins import BINNED
    from musicgpt_gui.core.model.controls.request import ControlRequest
    from musicgpt_gui.core.model.controls.attributes import clock_after
    from musicgpt_gui.core.music.notation import split_items

    counts = {(name, mode): [0, 0] for name in BINNED for mode in ("asked", "learned", "free")}
    own = [0, 0]  # free takes: bars whose measured density bin equals the control item the model wrote
    seconds = {"asked": 0.0, "learned": 0.0, "free": 0.0}
    for k, (prefix, request) in enumerate(zip(prefixes, requests)):
        first_bar = clock_after(split_items(prefix)).index()
        modes = [("asked", request), *([("learned", request)] if redraws else []), ("free", ControlRequest())]
        for mode, asked in modes:
            began = time.time()
            if mode == "asked" and redraws:
                result = checked_takes(generator, prefix, replace(settings, seed=k, controls=asked), bins, redraws)
            else:
                result = generator.generate(prefix, replace(settings, seed=k, controls=asked))
            seconds[mode] += time.time() - began
            for v in result.variations:
                full = result.full_text(v.index)
                for bar in bar_values(full, complete_only=True):
                    if bar.index < first_bar:
                        continue
                    for name in BINNED:
                        got = bins.bin(name, bar.value(name))
                        if got is None:
                            continue
                        counts[(name, mode)][0] += got == request.value(name, 0)
                        counts[(name, mode)][1] += 1
                if mode == "free":
                    written = written_bins(full, first_bar)
                    for bar in bar_values(full, complete_only=True):
                        if bar.index in written and "density" in written[bar.index]:
                            own[0] += bins.bin("density", bar.density) == written[bar.index]["density"]
                            own[1] += 1
    return counts, own, seconds


def written_bins(text: str, first_bar: int) -> dict[int, dict[str, int]]:
    """Per bar from ``first_bar``: the bins its control item names."""
    from musicgpt_gui.core.model.controls.annotate import read_item
    from musicgpt_gui.core.model.controls.attributes import BarClock
    from musicgpt_gui.core.music.notation import is_bar_control, split_items

    clock, out = BarClock(), {}
    for item in split_items(text):
        if is_bar_control(item) and clock.index() >= first_bar:
            out[clock.index()] = {k: int(v) for k, v in read_item(item).items() if k != "key"}
        clock.feed(item)
    return out


def key_wins(generator, headers, keys, settings, bins=None, redraws=0):
    """Pieces where the asked-for key wins, per mode ("asked"; with ``redraws`` also "learned", the controls
    alone, while "asked" redraws bars that lose the key; "free": nothing asked), and the pieces judged."""
    from musicgpt_gui.core.model.controls.request import ControlRequest, key_name
    from musicgpt_gui.core.model.piecewise import checked_takes
    from musicgpt_gui.core.quality.metrics import best_key

    wins: dict[str, int] = {"asked": 0, "learned": 0, "free": 0}
    seconds = dict.fromkeys(wins, 0.0)
    for k, (head, key) in enumerate(zip(headers, keys)):
        modes = [("asked", ControlRequest(key=(key,))), *([("learned", ControlRequest(key=(key,)))] if redraws else []),
                 ("free", ControlRequest())]
        for mode, request in modes:
            began = time.process_time()
            one = replace(settings, seed=1000 + k, controls=request, variations=1)
            result = checked_takes(generator, head, one, bins, redraws) if mode == "asked" and redraws \
                else generator.generate(head, one)
            seconds[mode] += time.process_time() - began
            notes = result.variations[0].parsed.notes
            if notes:
                tonic, mode_name, _ = best_key(notes)
                wins[mode] += key_name(f"{tonic} {mode_name}") == key
    return wins, len(headers), seconds


def key_cost(texts: list[str]) -> tuple[int, float, float, float]:
    """(windows, CPU ms per window with music21's KrumhanslSchmuckler().getSolution, with the profile correlation
    the controls use, share of windows where both name the same key), over the key windows of ``texts``."""
    from musicgpt_gui.core.model.controls.attributes import BarClock, KEY_WINDOW, estimate_key
    from musicgpt_gui.core.model.controls.request import key_name
    from musicgpt_gui.core.music.notation import parse_text, split_items
    from musicgpt_gui.core.quality.metrics import best_key

    windows = []
    for text in texts:
        clock = BarClock()
        for item in split_items(text):
            clock.feed(item)
        notes = parse_text(text).notes
        for first in range(0, clock.index() + 1, KEY_WINDOW):
            start, stop = clock.span(first)[0], clock.span(first + KEY_WINDOW - 1)[1]
            inside = [n for n in notes if start <= n.onset < stop]
            if inside:
                windows.append(inside)
    began = time.process_time()
    by_music21 = [key_name(" ".join(best_key(w)[:2])) for w in windows]
    music21_ms = (time.process_time() - began) * 1000 / len(windows)
    began = time.process_time()
    ours = [estimate_key(np.array([n.pitch for n in w], float), np.array([float(n.duration) for n in w]))
            for w in windows]
    ours_ms = (time.process_time() - began) * 1000 / len(windows)
    return len(windows), music21_ms, ours_ms, float(np.mean([a == b for a, b in zip(by_music21, ours)]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--controls-run", type=Path, required=True)
    parser.add_argument("--plain-run", type=Path, required=True, action="append",
                        help="a run without controls (repeat for several: same minutes, same steps...)")
    parser.add_argument("--tokens", type=int, default=240)
    parser.add_argument("--variations", type=int, default=2)
    parser.add_argument("--pieces", type=int, default=0, help="validation pieces (0: all)")
    parser.add_argument("--redraws", type=int, default=0, help="asked takes bar by bar, a missing bar redrawn N times")
    parser.add_argument("--sections", default="cost,adherence,key", help="which parts to run (comma-separated)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from musicgpt_gui.core.dataset import dataset_files
    from musicgpt_gui.core.model.controls.bins import BINNED, ControlBins
    from musicgpt_gui.core.model.sample.generation import GenerationSettings, Generator
    from musicgpt_gui.core.model.store import checkpoints

    began = time.time()
    bins = ControlBins.load(args.controls_run)
    dataset = checkpoints.training_dataset(args.controls_run)
    valid = dataset_files.load_split(dataset, dataset_files.VALID)
    valid = valid[: args.pieces] if args.pieces else valid
    lines = [
        f"bench_controls: {platform.platform()}, {os.cpu_count()} cores (shared with other jobs), "
        f"load average {os.getloadavg()[0]:.1f} at start",
        f"dataset {dataset.name}: {len(valid)} validation pieces; runs {args.controls_run.name} (--controls) and "
        f"{', '.join(p.name for p in args.plain_run)} (plain), same recipe, trained one after the other",
        f"bins (training split quantiles, {bins.bars} bars): " + "; ".join(
            f"{n} {bins.count(n)} bins, cuts {list(bins.edges[n])}" for n in BINNED),
    ]
    publish(lines, None)
    sections = set(args.sections.split(","))
    rng = random.Random(0)  # the bins asked for, then the keys' shuffle
    if "cost" in sections:
        lines += cost_section(args, dataset, valid, bins)
    if sections & {"adherence", "key"}:
        generator = Generator(checkpoints.resolve_checkpoint(args.controls_run, which(args.controls_run)))
        settings = GenerationSettings(length=args.tokens, variations=args.variations)
        if "adherence" in sections:
            lines += adherence_section(args, generator, bins, valid, settings, rng)
        if "key" in sections:
            lines += key_section(args, generator, bins, valid, settings, rng)
        generator.close()
    lines += ["", f"{time.time() - began:.0f} s in all, load average {os.getloadavg()[0]:.1f} at the end"]
    publish(lines[-1:], None)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


def cost_section(args, dataset, valid, bins) -> list[str]:
    from musicgpt_gui.core.dataset import dataset_files
    from musicgpt_gui.core.model.controls.annotate import annotate

    windows, music21_ms, ours_ms, agree = key_cost(dataset_files.load_split(dataset, dataset_files.TRAIN)[:60])
    lines = [
        "",
        f"key per {4}-bar window, {windows} windows of 60 training pieces: music21's getSolution {music21_ms:.2f} ms, "
        f"the profile correlation (music21's weights, numpy) {ours_ms:.3f} ms of CPU each (loaded machine); "
        f"same key in {agree:.1%}",
        "",
        "cost: validation bits per musical element (elements of the plain text in every row)",
    ]
    publish(lines, None)
    c_hist, c_steps = history_bits(args.controls_run)
    c_all, c_music = scored_bits(args.controls_run, valid, lambda t: annotate(t, bins))
    rows = [f"  {args.controls_run.name} (--controls, {c_steps} steps): training's own validation (best) {c_hist:.3f}; "
            f"scored sliding: all tokens {c_all:.3f}, the music's tokens only (given the controls) {c_music:.3f}"]
    for plain_run in args.plain_run:
        p_hist, p_steps = history_bits(plain_run)
        p_all, _ = scored_bits(plain_run, valid)
        rows.append(f"  {plain_run.name} (plain, {p_steps} steps): validation {p_hist:.3f}, scored {p_all:.3f}; "
                    f"controls / plain: validation {c_hist / p_hist:.3f}x, scored all tokens {c_all / p_all:.3f}x, "
                    f"music tokens only {c_music / p_all:.3f}x")
    rows += ["  goal: <= 1.05x", ""]
    publish(rows, None)
    return lines + rows


def adherence_section(args, generator, bins, valid, settings, rng) -> list[str]:
    from musicgpt_gui.core.model.controls.bins import BINNED
    from musicgpt_gui.core.model.controls.request import ControlRequest

    prefixes = [opening(t, OPENING_BARS) for t in valid]
    requests = [ControlRequest(**{n: (rng.randrange(bins.count(n)),) for n in BINNED}) for _ in valid]
    counts, own, seconds = adherence(generator, bins, prefixes, requests, settings, args.redraws)
    redrawn = f"; asked takes written bar by bar, a bar that misses redrawn up to {args.redraws} times" \
        if args.redraws else ""
    rows = [f"adherence: {len(prefixes)} openings of {OPENING_BARS} bars x {args.variations} variations x "
            f"{args.tokens} tokens, temperature {settings.temperature}, top-k {settings.top_k}; bins asked at random "
            f"per piece (all three at once){redrawn}; share of complete generated bars in the asked-for bin"]
    for name in BINNED:
        a, f, n = counts[(name, "asked")], counts[(name, "free")], counts[(name, "learned")]
        learned = f"learned only {n[0] / max(n[1], 1):6.1%} of {n[1]:4d} bars   " if args.redraws else ""
        rows.append(f"  {name:8} asked {a[0] / max(a[1], 1):6.1%} of {a[1]:4d} bars   {learned}"
                    f"free (the model's own choice) {f[0] / max(f[1], 1):6.1%} of {f[1]:4d} bars")
    rows += [f"  free takes: the measured density bin equals the one the model wrote in {own[0] / max(own[1], 1):.1%} "
             f"of {own[1]} bars", "  goal: density and polyphony >= 80% asked",
             f"  ({seconds['asked']:.0f} s generating the asked takes, {seconds['learned']:.0f} s learned only, "
             f"{seconds['free']:.0f} s the free ones)", ""]
    publish(rows, None)
    return rows


def opening_key(text: str) -> str:
    """The piece's key: its music21 key item (Bach's ``f# minor``), else its first key window's estimate."""
    from musicgpt_gui.core.model.controls.attributes import bar_values
    from musicgpt_gui.core.model.controls.request import key_name
    from musicgpt_gui.core.music.notation import split_items

    named = [i for i in split_items(text)[:12] if i.endswith((" major", " minor"))]
    if named:
        return key_name(named[0].replace("-", "b"))
    return next((b.key for b in bar_values(text) if b.key), "C")


def key_section(args, generator, bins, valid, settings, rng) -> list[str]:
    keys = [opening_key(t) for t in valid]
    rng.shuffle(keys)
    headers = [header(t) for t in valid]
    wins, judged, seconds = key_wins(generator, headers, keys, replace(settings, length=args.tokens), bins,
                                     args.redraws)
    redrawn = f"; asked takes written bar by bar, a bar after which the asked key no longer leads the take's " \
        f"estimate redrawn up to {args.redraws} times" if args.redraws else ""
    learned = f"learned only {wins['learned'] / judged:.1%}, " if args.redraws else ""
    rows = [f"key: {judged} pieces from the validation headers (no key name, no notes), {args.tokens} tokens, the "
            "validation pieces' keys (their music21 key item, else their first key window's) shuffled as the keys "
            f"asked for; no scale mask{redrawn}",
            f"  asked key wins music21's estimate: asked {wins['asked'] / judged:.1%}, {learned}"
            f"free {wins['free'] / judged:.1%}  (goal >= 90% asked)",
            "  (CPU seconds generating: " + ", ".join(f"{m} {v:.0f}" for m, v in seconds.items() if v) + ")"]
    publish(rows, None)
    return rows


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
