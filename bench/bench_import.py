"""Import speed and fidelity against the seed's path, measured in one run on the same files.

    python bench/bench_import.py DIR [DIR ...] [--render-bach N] [--results FILE]

For each DIR (MIDI files, searched recursively) it times

* the seed's path: ``music21.converter.parse(f, forceSource=True)`` then ``flatten()`` and the
  seed's item rule (``notation.seed_items``), one file after another;
* our import: ``import_dataset`` in the seed format (tracks=flat, so the same item order),
  cold (empty cache, process pool start-up included) and again from the cache, once
  before and once after the seed path (the machine's load may change in between);

and prints the speed ratio (wall clock and CPU time, pool workers included), the
cold/cached ratio and the share of identical items between the two seed-format outputs
(difflib over each file's item list).
``--render-bach N`` first writes N corpus chorales to MIDI with music21 into the first DIR.
It also times a cold import in the timed format (symusic), its CPU per file in a warm worker (the pool start-up
left out: a folder of many files pays it once), parsing alone with mido and symusic, and a
folder of 1,000 files (the given ones repeated) for files per second and peak memory.
No assertion here: the goals (>= 100x on real MIDI, >= 99.9% identical items on Bach) are read off the report.
"""

from __future__ import annotations

import argparse
import difflib
import os
import platform
import resource
import sys
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.dataset.importer import ImportOptions, import_dataset
from musicgpt_gui.core.dataset.metadata import load_metadata
from musicgpt_gui.core.music.notation import join_items, seed_items, split_items
from musicgpt_gui.core.readers import midi_reader

DEFAULT_RESULTS = Path(__file__).parent / "results" / "import.txt"


def render_bach(folder: Path, count: int) -> int:
    """Write the first ``count`` chorales that music21 can render to MIDI; returns how many files.

    The iterator lists a few works twice; each is written once.
    """
    from music21 import corpus

    folder.mkdir(parents=True, exist_ok=True)
    done: set[Path] = set()
    for work in corpus.chorales.Iterator(returnType="filename"):
        if len(done) >= count:
            break
        target = folder / f"{work.replace('/', '_')}.mid"
        if target in done:
            continue
        if not target.exists():
            try:
                corpus.parse(work).write("midi", fp=target)
            except Exception as exc:  # a few chorales have repeats music21 cannot expand
                print(f"  skip {work}: {exc}", file=sys.stderr)
                continue
        done.add(target)
    return len(done)


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the pool's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def seed_path(files: list[Path]) -> tuple[float, float, dict[str, list[str]]]:
    """The seed's conversion over all files: (wall s, CPU s, items per file); failures give no items."""
    from music21 import converter

    out: dict[str, list[str]] = {}
    cpu, start = cpu_seconds(), time.perf_counter()
    for path in files:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # Joined and split as in the CSV, so names ending in a space compare as stored.
                out[str(path)] = split_items(join_items(seed_items(converter.parse(path, forceSource=True))))
        except Exception as exc:
            print(f"  seed path failed on {path.name}: {exc}", file=sys.stderr)
            out[str(path)] = []
    return time.perf_counter() - start, cpu_seconds() - cpu, out


def our_import(folder: Path, work: Path) -> dict:
    """A cold import (empty cache) then a cached one, in the seed format: times and items per file."""
    options = ImportOptions(format="seed", cache_dir=work / "cache")
    cpu, start = cpu_seconds(), time.perf_counter()
    import_dataset([folder], options, work / "cold")
    cold, cold_cpu = time.perf_counter() - start, cpu_seconds() - cpu
    start = time.perf_counter()
    cached_result = import_dataset([folder], options, work / "cached")
    cached = time.perf_counter() - start
    meta = load_metadata(work / "cold")
    rows = dataset_files.load_split(work / "cold")
    items = {Path(p.source).resolve().as_posix(): split_items(text) for p, text in zip(meta.pieces, rows)}
    return {"cold": cold, "cold_cpu": cold_cpu, "cached": cached, "items": items, "hits": cached_result.cache_hits}


def timed_import(folder: Path, work: Path) -> tuple[float, float]:
    """A cold import in the timed format (symusic reads the files): (wall s, CPU s)."""
    cpu, start = cpu_seconds(), time.perf_counter()
    import_dataset([folder], ImportOptions(cache_dir=work / "cache"), work / "timed")
    return time.perf_counter() - start, cpu_seconds() - cpu


def timed_per_file(files: list[Path]) -> float:
    """CPU seconds per file of the timed conversion in one warm process (what each pool worker does per file,
    without the pool's start-up, which a folder of many files pays once)."""
    from musicgpt_gui.core.dataset.convert import convert_task
    from musicgpt_gui.core.dataset.sources import Task

    tasks = [Task("midi", str(path), path.name) for path in files]
    options = ImportOptions()
    for task in tasks:
        convert_task(task, options)
    start = time.process_time()
    for task in tasks:
        convert_task(task, options)
    return (time.process_time() - start) / len(tasks)


def parse_only(files: list[Path]) -> tuple[float, float]:
    """Parsing alone, every file: (mido s, symusic s)."""
    import mido
    import symusic

    start = time.perf_counter()
    for path in files:
        mido.MidiFile(path, clip=True)
    middle = time.perf_counter()
    for path in files:
        symusic.Score(str(path))
    return middle - start, time.perf_counter() - middle


def thousand_files(files: list[Path], work: Path) -> tuple[int, float, float, float]:
    """A folder of 1,000 files (the given ones repeated under new names), imported cold in the timed
    format: (files, files per second, CPU seconds with the workers', peak resident MiB of this process and its
    workers)."""
    import shutil

    folder = work / "thousand"
    folder.mkdir(parents=True)
    for i in range(1000):
        shutil.copyfile(files[i % len(files)], folder / f"{i:04d}-{files[i % len(files)].name}")
    cpu, start = cpu_seconds(), time.perf_counter()
    import_dataset([folder], ImportOptions(cache_dir=work / "cache1000"), work / "out1000")
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return 1000, 1000 / seconds, cpu, peak / 1024


def agreement(reference: dict[str, list[str]], ours: dict[str, list[str]]) -> tuple[int, int, list[str]]:
    """(identical items, compared items, per-file lines for files that differ)."""
    same = total = 0
    lines = []
    for path, ref in reference.items():
        mine = ours.get(Path(path).resolve().as_posix(), [])
        matcher = difflib.SequenceMatcher(None, ref, mine, autojunk=False)
        equal = sum(block.size for block in matcher.get_matching_blocks())
        longest = max(len(ref), len(mine))
        same += equal
        total += longest
        if equal != longest:
            lines.append(
                f"    {Path(path).name}: {equal}/{longest} items identical (seed {len(ref)}, ours {len(mine)})"
            )
    return same, total, lines


def bench(folder: Path) -> list[str]:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in midi_reader.EXTENSIONS)
    if not files:
        raise SystemExit(f"no MIDI files under {folder}")
    size = sum(p.stat().st_size for p in files)
    n = len(files)
    print(f"{folder}: {n} MIDI files, {size / 1024:.0f} KiB", file=sys.stderr)
    # Ours runs before and after the seed path, so a change in machine load shows up.
    with tempfile.TemporaryDirectory() as tmp:
        before = our_import(folder, Path(tmp) / "before")
        timed_wall, timed_cpu = timed_import(folder, Path(tmp) / "timed")
        per_file = timed_per_file(files)
        seed_time, seed_cpu, reference = seed_path(files)
        after = our_import(folder, Path(tmp) / "after")
        mido_s, symusic_s = parse_only(files)
        count, per_second, cpu_1000, peak_mib = thousand_files(files, Path(tmp))
    best = min(before, after, key=lambda run: run["cold"])
    same, total, diffs = agreement(reference, best["items"])
    lines = [
        f"{folder} -- {n} MIDI files, {size / 1024:.0f} KiB",
        f"  seed path (converter.parse + flatten, 1 process): {seed_time:8.2f} s wall, {seed_cpu:8.2f} s CPU "
        f"({seed_cpu / n * 1000:.0f} ms/file)",
        f"  our import, cold, pool of {os.cpu_count()} incl. start-up:  {before['cold']:8.2f} s before, "
        f"{after['cold']:.2f} s after the seed path; "
        f"{best['cold_cpu']:.2f} s CPU ({best['cold_cpu'] / n * 1000:.1f} ms/file)",
        f"  our import, cached ({best['hits']}/{n} cache hits):     {best['cached']:8.3f} s",
        f"  speed ratio seed/ours, wall (best cold run):  {seed_time / best['cold']:7.1f}x",
        f"  speed ratio seed/ours, CPU time:              {seed_cpu / best['cold_cpu']:7.1f}x",
        f"  cold/cached ratio (re-import):                {best['cold'] / best['cached']:7.1f}x",
        f"  timed format (symusic), cold:                 {timed_wall:8.2f} s wall, {timed_cpu:.2f} s CPU",
        f"  speed ratio seed/timed import, wall:          {seed_time / timed_wall:7.1f}x",
        f"  speed ratio seed/timed import, CPU time:      {seed_cpu / timed_cpu:7.1f}x",
        f"  timed, per file in a warm worker:             {per_file * 1000:8.2f} ms CPU",
        f"  speed ratio seed/timed, per file:             {seed_cpu / n / per_file:7.1f}x",
        f"  parsing alone: mido {mido_s:.3f} s, symusic {symusic_s:.3f} s ({mido_s / symusic_s:.0f}x)",
        f"  {count} files (these repeated), timed, cold: {per_second:.0f} files/s, {cpu_1000:.1f} s CPU, "
        f"peak memory {peak_mib:.0f} MiB",
        f"  speed ratio seed/timed, {count} files, CPU:      {seed_cpu / n * count / cpu_1000:7.1f}x",
        f"  identical seed-format items:    {same}/{total} = {100 * same / max(total, 1):.2f}%",
    ]
    if diffs:
        lines.append("  files that differ:")
        lines.extend(diffs)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dirs", nargs="+", type=Path, metavar="DIR")
    parser.add_argument(
        "--render-bach", type=int, metavar="N", help="first render N Bach chorales to MIDI into the first DIR"
    )
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="report file (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.render_bach:
        print(f"rendered {render_bach(args.dirs[0], args.render_bach)} chorales into {args.dirs[0]}", file=sys.stderr)
    header = [
        f"bench_import {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}",
    ]
    report = header + [line for folder in args.dirs for line in [""] + bench(folder)]
    text = "\n".join(report) + "\n"
    print(text)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
