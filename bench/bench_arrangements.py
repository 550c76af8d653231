"""Arrangements from a parts run, measured as issue 25 asks (bench/results/arrangements*.txt).

For one or more trained runs of a dataset imported with parts:
- learning: the best validation bits per element against the n-gram yardstick on the same split (its ratio);
- unprompted: N variations written for the dataset's most common ensemble (``--ensemble auto``);
- prompted: one variation from the first 4 bars of each of N validation songs;
and for both: the share playable and non-empty, the parts each writes, each part's note share, range and
sounding time against the validation songs', the repeated-phrase share and bar self-similarity against the
data's (whole songs, and excerpts as long as the takes), and the musical metrics.  Counts and bits do not
depend on the machine's load.

    MUSICGPT_WORKSPACE=... python bench/bench_arrangements.py --run popP128k [--run popplain128 ...]
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.model.controls.attributes import is_event
from musicgpt_gui.core.model import workflows
from musicgpt_gui.core.model.sample.generation import GenerationSettings, Generator
from musicgpt_gui.core.model.steer.form import DEFAULT_SECTION_BARS, Form
from musicgpt_gui.core.model.store import checkpoints, run_store
from musicgpt_gui.core.music.notation import DEFAULT_BAR, bar_length, join_items, split_items
from musicgpt_gui.core.music.parts import leading_declarations
from musicgpt_gui.core.quality import arrangement
from musicgpt_gui.core.quality.metrics import mean_metrics
from musicgpt_gui.core.workspace import resolve_workspace
from musicgpt_gui.core.model.train.fim import item_onsets

PROMPT_BARS = 4


def opening(text: str, bars: int) -> str:
    """The song's items before bar ``bars`` (declarations, tempo and meter included)."""
    items = split_items(text)
    bar = next((b for b in map(bar_length, items) if b), DEFAULT_BAR)
    onsets = item_onsets(items)
    return join_items([i for i, t in zip(items, onsets) if t < bars * bar])


def prompt_at(text: str, first_bar: int, bars: int) -> str:
    """The song's declarations, tempo and meter, then its items from bar ``first_bar`` to ``first_bar + bars``:
    more prompts than validation songs when a small dataset has few (later prompts start later in the songs)."""
    if first_bar == 0:
        return opening(text, bars)
    items = split_items(text)
    bar = next((b for b in map(bar_length, items) if b), DEFAULT_BAR)
    first_event = next((k for k, i in enumerate(items) if is_event(i)), len(items))
    head, onsets = items[:first_event], item_onsets(items)
    body = [i for k, (i, t) in enumerate(zip(items, onsets))
            if k >= first_event and first_bar * bar <= t < (first_bar + bars) * bar]
    return join_items(head + body)


def excerpt(text: str, skip_bars: int, items: int) -> str:
    """``items`` items of the song after its first ``skip_bars`` bars, with its declarations: the data a take
    of that length is compared with."""
    head = leading_declarations(split_items(text))
    rest = split_items(text)[len(split_items(opening(text, skip_bars))):]
    return join_items(head + rest[:items])


def learning(run_dir: Path) -> str:
    history = run_store.History.load(run_dir)
    bits = [v["bits_per_element"] for v in history.valid if v.get("bits_per_element") is not None]
    stick = (history.ngram or {}).get("bits_per_element")
    steps = history.train[-1]["step"] if history.train else 0
    if not bits or not stick:
        return f"learning: {steps} steps; no validation or no n-gram recorded"
    s = history.settings
    return (f"learning: {steps} steps of {s.get('batch_size')} x {s.get('window')} tokens, windows "
            f"{s.get('windows', 'plain')}: best validation {min(bits):.3f} bits per element, n-gram "
            f"{stick:.3f} -> {min(bits) / stick:.3f}x")


def takes_report(label: str, header: list[str], variations) -> tuple[list[str], list[str]]:
    """(lines, continuation texts with their declarations)."""
    texts, parts_written, playable = [], [], 0
    for v in variations:
        if v.playable:
            playable += 1
        written = {n.part for n in v.parsed.notes}
        parts_written.append(len(written))
        texts.append(join_items(header + v.parsed.items))
    n = len(variations)
    lines = [
        f"{label}: {playable}/{n} playable and non-empty; takes by parts written: "
        f"{ {k: parts_written.count(k) for k in sorted(set(parts_written))} } "
        f"({sum(p >= 2 for p in parts_written)}/{n} write at least 2 parts); "
        f"items per take: median {statistics.median(len(v.parsed.items) for v in variations):.0f}"
    ]
    return lines, texts


def run_bench(run: str, args, workspace) -> list[str]:
    run_dir = checkpoints.run_folder(workspace, run)
    ref = checkpoints.resolve_checkpoint(run_dir, args.checkpoint)
    dataset = checkpoints.training_dataset(run_dir)
    valid = dataset_files.load_split(dataset, dataset_files.VALID)
    out = [f"== run {run} ({ref.identity().get('checkpoint')}), dataset {dataset.name}", learning(run_dir)]
    generator = Generator()
    try:
        prefix = workflows.ensemble_prefix("", "auto", dataset)
        header = leading_declarations(split_items(prefix))
        free = []  # in batches of at most 10 variations (the GUI's and CLI's limit is 16), each with its seed
        for first in range(0, args.variations, 10):
            count = min(10, args.variations - first)
            free += workflows.generate_for_run(generator, ref, prefix, GenerationSettings(
                length=args.length, variations=count, seed=args.seed + 1000 * first), form=args.form).variations
        lines, free_texts = takes_report(f"unprompted ({len(header)}-part ensemble)", header, free)
        out += lines
        prompted_vars, prompted_texts = [], []
        songs = [t for t in valid if leading_declarations(split_items(t))]
        prompts = [prompt_at(songs[k % len(songs)], 2 * PROMPT_BARS * (k // len(songs)), PROMPT_BARS)
                   for k in range(min(args.variations, len(songs) * args.prompts_per_song))]
        for k, prompt in enumerate(prompts):
            one = workflows.generate_for_run(generator, ref, prompt, GenerationSettings(
                length=args.length, variations=1, seed=args.seed + 1 + k), form=args.form)
            prompted_vars += one.variations
            declared = leading_declarations(split_items(prompt))
            prompted_texts.append(join_items(declared + one.variations[0].parsed.items))
        lines, _ = takes_report(f"from {len(prompts)} {PROMPT_BARS}-bar prompts of {len(songs)} validation songs",
                                [], prompted_vars)
        out += lines
    finally:
        generator.close()
    take_items = int(statistics.median(len(split_items(t)) for t in free_texts + prompted_texts))
    data_whole = valid[: args.variations]
    data_cut = [excerpt(t, PROMPT_BARS, take_items) for t in data_whole]
    rows = [("validation songs", data_whole), (f"songs, {take_items} items", data_cut),
            ("unprompted takes", free_texts), ("prompted takes", prompted_texts)]
    figures = [(label, arrangement.ensemble_figures(texts)) for label, texts in rows]
    out.append(arrangement.part_table(figures))
    out.append(f"{'':<22}{'repeated phrases':<20}{'clarity':>8}{'in scale':>9}{'notes/beat':>11}{'polyphony':>10}")
    for label, texts in rows:
        m = mean_metrics(texts)
        cells = [m.repeated_phrases, m.key_clarity, m.in_scale, m.notes_per_beat, m.polyphony]
        shown = ["–" if c is None else f"{c:.2f}" for c in cells]
        out.append(f"{label:<22}{shown[0]:<20}{shown[1]:>8}{shown[2]:>9}{shown[3]:>11}{shown[4]:>10}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", required=True)
    parser.add_argument("--checkpoint", default="best", choices=checkpoints.CHECKPOINT_CHOICES)
    parser.add_argument("--variations", type=int, default=20)
    parser.add_argument("--length", type=int, default=GenerationSettings().length)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--form", default="", help="write each take in this form (e.g. ABAB; default: one take)")
    parser.add_argument("--section-bars", type=int, default=DEFAULT_SECTION_BARS)
    parser.add_argument("--prompts-per-song", type=int, default=1,
                        help="with few validation songs: prompts from bars 0, 8, 16... of each (default: 1: the "
                        "opening)")
    parser.add_argument("--results", type=Path)
    args = parser.parse_args()
    workspace = resolve_workspace(None)
    args.form = Form.parse(args.form, args.section_bars)
    shape = f", in form {args.form.letters} of {args.form.bars}-bar sections" if args.form else ""
    lines = [f"bench_arrangements: {args.variations} unprompted + {args.variations} prompted takes of "
             f"{args.length} tokens per run{shape}, seed {args.seed}, checkpoint {args.checkpoint}"]
    for run in args.run:
        lines += run_bench(run, args, workspace)
        print("\n".join(lines[-12:]), file=sys.stderr)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.results:
        args.results.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
