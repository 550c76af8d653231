"""Benchmark: hard constraints at sampling -- adherence, cost and speed, per control.

From a trained run, the opening 16 items of validation pieces are continued twice with the same
seeds: free (no mask) and steered (one control at a time).  For each control:

* adherence: the share of generated bars that keep it, measured from the parsed notes (not from
  the masks), for the steered takes and for the free ones (the chance baseline);
* cost: bits per element of the generated items under an independent judge, the Kneser-Ney n-gram
  fitted on the run's training tokens (steered vs free), and musical metrics (key clarity, in scale);
* speed: tokens per CPU second, steered vs free, in this run, and the masks' own share of the steered
  CPU time (the time spent building masks and following the grammar, counted around each call: on a
  shared machine the whole-generation ratio moves by +-20% from one pass to the next, this share does not).

With --parts (a run trained on a dataset imported with parts), the controls of parts too: only part 1
plays, part 3's own range, part 1's one voice.

Keep rhythm (--rhythm-pieces N): in N validation pieces, the 4 bars after the opening are regenerated
(infill, one candidate per variation) with keep rhythm, alone and with the prefix's key, and free (no
mask).  Adherence is the share of the span's notes whose onset, length and part are kept, and of its
bars whose notes all are, from the parsed notes; invalid items are counted; tokens per CPU second and
the masks' share as above.

    PYTHONPATH=$PWD .venv/bin/python bench/bench_steering.py --run WS/checkpoint/RUN [--pieces 20]
        [--tokens 200] [--variations 2] [--parts] [--rhythm-pieces 30] [--out bench/results/steering.txt]
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
PART_CONTROLS = {
    "only part 1 plays": ("parts", dict(parts=(1,))),
    "part 3's own range C3:C5": ("range", dict(part_ranges=((3, 48, 72),))),
    "part 1 one voice": ("voices", dict(part_voices=((1, 1),))),
}
RHYTHM_BARS = 4  # bars regenerated per piece with keep rhythm


class MaskClock:
    """CPU seconds spent in the maskers' calls (patched in for the benchmark only; a call made inside
    another, as keep rhythm's masker calls the grammar's, is counted once)."""

    def __init__(self) -> None:
        from musicgpt_gui.core.model.steer.keep_rhythm import RhythmMasker
        from musicgpt_gui.core.model.steer.masker import Masker

        self.seconds, self.depth = 0.0, 0
        for cls in (Masker, RhythmMasker):
            for name in ("allowed", "advance"):
                if name in vars(cls):
                    setattr(cls, name, self._timed(vars(cls)[name]))

    def _timed(self, original):
        def timed(*args, **kwargs):
            began = time.process_time()
            self.depth += 1
            try:
                return original(*args, **kwargs)
            finally:
                self.depth -= 1
                if not self.depth:
                    self.seconds += time.process_time() - began

        return timed


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
    from musicgpt_gui.core.music.notation import SEP, join_items, parse_text, split_items
    from musicgpt_gui.core.music.parts import parse_declaration
    from musicgpt_gui.core.quality.metrics import text_metrics

    kept, total_bits, elements, in_scale, clarity = Adherence(), 0.0, 0, [], []
    for prefix, variations in zip(prefixes, texts):
        scale = scale_for(steering, prefix)
        declared = [item for item in split_items(prefix) if parse_declaration(item) is not None]
        context = [encoder.eot] + encoder.encode(prefix + SEP.strip())
        for text in variations:
            if not text:
                continue
            kept.add(measure(f"{prefix}{SEP}{text}", parse_text(prefix).length, steering, scale))
            total_bits += bits(stick.model, encoder.encode(" " + text), context)
            elements += vocab.count_elements(text)
            m = text_metrics(join_items([*declared, text]))  # a take's markers name the prefix's parts
            in_scale.append(m.in_scale)
            clarity.append(m.key_clarity)
    return kept, total_bits / max(elements, 1), _mean(in_scale), _mean(clarity)


def rhythm_spans(valid, count: int):
    """(text, span) per piece: the RHYTHM_BARS bars after the opening, in a text that goes on past them."""
    from musicgpt_gui.core.model.sample.infill import locate_beats
    from musicgpt_gui.core.model.train.fim import item_onsets
    from musicgpt_gui.core.music.notation import DEFAULT_BAR, bar_length, join_items, split_items

    out = []
    for piece in valid:
        items = split_items(piece)
        onsets = item_onsets(items)
        bar = next((b for b in map(bar_length, items) if b), DEFAULT_BAR)
        if len(items) <= PREFIX_ITEMS:
            continue
        start = -(-onsets[PREFIX_ITEMS] // bar) * bar
        end = start + RHYTHM_BARS * bar
        keep = [i for i, at in enumerate(onsets[:-1]) if at < end + 2 * bar]
        if onsets[-1] < end + bar or not keep:
            continue
        text = join_items(items[: keep[-1] + 1])
        try:
            out.append((text, locate_beats(text, float(start), float(end))))
        except Exception:  # noqa: BLE001 -- a piece with nothing starting there is left out
            continue
        if len(out) == count:
            break
    return out


def keep_rhythm_rows(generator, spans, variations: int, clock: "MaskClock") -> list[str]:
    """Keep rhythm alone, with the prefix's key, and free: notes and bars kept, invalid items, speed."""
    from musicgpt_gui.core.jobs import JobError
    from musicgpt_gui.core.model.sample.generation import GenerationSettings
    from musicgpt_gui.core.model.sample.infill import infill
    from musicgpt_gui.core.model.steer.constraints import Steering
    from musicgpt_gui.core.model.steer.keep_rhythm import RhythmKept, rhythm_kept
    from musicgpt_gui.core.model.steer.measure import Adherence, measure
    from musicgpt_gui.core.model.steer.session import scale_for
    from musicgpt_gui.core.music.notation import parse_text

    cases = {"keep rhythm": Steering(keep_rhythm=True), "keep rhythm + the prefix's key":
             Steering(keep_rhythm=True, key="prefix"), "free (no mask)": Steering()}
    rows, free_rate = [], None
    for label, steering in reversed(cases.items()):
        kept, key, invalid, refused, cpu, tokens = RhythmKept(), Adherence(), 0, 0, 0.0, 0
        clock.seconds = 0.0
        for k, (text, span) in enumerate(spans):
            settings = GenerationSettings(length=1024, variations=variations, seed=k, steering=steering)
            began = time.process_time()
            try:
                result = infill(generator, text, span, settings, candidates=1)
            except JobError:  # a selection this vocabulary cannot write again token by token
                refused += 1
                continue
            cpu += time.process_time() - began
            end = span.onset + span.gap
            scale = scale_for(Steering(key="prefix"), result.prefix) if result.prefix.strip() else None
            for v in result.variations:
                tokens += len(v.tokens)
                full = result.full_text(v.index)
                # what the middle adds: the original's own unreadable items (e.g. 'Soprano 1') are not the take's
                invalid += len(v.parsed.skipped) + len(parse_text(full).skipped) - len(parse_text(text).skipped)
                kept.add(rhythm_kept(text, full, span.onset, end))
                key.add(measure(full, span.onset, Steering(key="prefix"), scale, end))
        rate = tokens / cpu if cpu else float("nan")
        free_rate = free_rate or rate
        share = kept.share if kept.share is not None else float("nan")
        rows.append(f"{label:32} {kept.bars:5d} {kept.kept_bars / max(kept.bars, 1):7.1%} {kept.notes:6d} "
                    f"{share:7.1%} {kept.repitched / max(kept.kept_notes, 1):9.1%} {key.share('key') or 0:7.1%} "
                    f"{invalid:7d} {refused:7d}  {rate:6.0f} {rate / free_rate:5.2f} "
                    f"{clock.seconds / max(cpu, 1e-9):6.1%}")
        publish(rows[-1:], None)
    return list(reversed(rows))


def _pct(share) -> str:
    return "-" if share is None else f"{share:.1%}"


def _mean(values) -> float:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--pieces", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--variations", type=int, default=2)
    parser.add_argument("--parts", action="store_true", help="also the parts' controls (a run with parts)")
    parser.add_argument("--rhythm-pieces", type=int, default=30, help="pieces for keep rhythm (0: skip)")
    parser.add_argument("--skip-controls", action="store_true", help="keep rhythm only")
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
    controls = {} if args.skip_controls else {**CONTROLS, **(PART_CONTROLS if args.parts else {})}
    free, free_cpu, free_tokens = takes(generator, prefixes, base, memorization) if controls else ([], 1.0, 0)
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
        f"{'in scale':>8} {'free':>5}  {'clarity':>7} {'free':>5}  {'tok/s':>6} {'ratio':>5} {'masks':>6}",
    ]
    if not controls:
        lines = lines[:2]
    publish(lines, None)
    free_rate = free_tokens / free_cpu
    clock = MaskClock()
    rows = []
    for label, (name, fields) in controls.items():
        steering = Steering(**fields)
        clock.seconds = 0.0
        steered, cpu, tokens = takes(generator, prefixes, replace(base, steering=steering), memorization)
        mask_share = clock.seconds / cpu
        s_kept, s_bits, s_scale, s_clar = scored(steered, prefixes, steering, encoder, stick)
        f_kept, f_bits, f_scale, f_clar = scored(free, prefixes, steering, encoder, stick)
        rate = tokens / cpu
        row = (f"{label:38} {s_kept.bars:5d} {_pct(s_kept.share(name)):>8} {_pct(f_kept.share(name)):>6}  "
               f"{s_bits:7.3f} {f_bits:6.3f}  {s_scale:8.1%} {f_scale:5.1%}  {s_clar:7.2f} {f_clar:5.2f}  {rate:6.0f} "
               f"{rate / free_rate:5.2f} {mask_share:6.1%}")
        publish([row], None)
        rows.append(row)
    lines += rows
    if controls:
        lines += [
            "",
            f"free: {free_rate:.0f} tokens per CPU second; ratio = steered / free tokens per CPU second (goal >= 0.9); "
            "masks = the masks' share of the steered CPU time",
            "goal: every control kept in 100% of generated bars (>= 200 bars each)",
        ]
        publish(lines[-3:], None)
    if args.rhythm_pieces:
        spans = rhythm_spans(valid, args.rhythm_pieces)
        head = [
            "",
            f"keep rhythm: {len(spans)} validation pieces, the {RHYTHM_BARS} bars after the {PREFIX_ITEMS}-item "
            f"opening regenerated (infill, 1 candidate per variation) x {args.variations} variations; "
            "same seeds in each case",
            f"{'case':32} {'bars':>5} {'kept':>7} {'notes':>6} {'kept':>7} {'repitched':>9} {'in key':>7} "
            f"{'invalid':>7} {'refused':>7}  {'tok/s':>6} {'ratio':>5} {'masks':>6}",
        ]
        publish(head, None)
        lines += head + keep_rhythm_rows(generator, spans, args.variations, clock) + [
            "kept = bars whose notes all keep onset, length and part / notes that do (of the original's notes and "
            "any added); repitched = kept notes with a new pitch; in key = bars keeping the prefix's key; "
            "invalid = items of the middle, or of the whole text beyond the original's, that do not parse; refused = "
            "selections with a length the vocabulary lacks; goal: 100% kept, 0 invalid (>= 200 bars)",
        ]
    lines.append(f"{time.time() - began:.0f} s in all, load average {os.getloadavg()[0]:.1f} at the end")
    publish(lines[-2:], None)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    generator.close()
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
