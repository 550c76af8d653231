"""Import speed with parts against the same import without them, measured in one run on the same files.

    python bench/bench_import_parts.py [DIR] [--files N] [--rounds R] [--results FILE] [--baseline-code DIR]

Converts each file (``convert_task``, the per-file work of ``musicgpt import``, timed format, symusic
reader, no cache, no pool) with ``--parts off`` (today's text), ``tracks`` and ``programs``,
interleaved file by file and round by round so the machine's load falls on all three alike, and
prints CPU seconds per file and the ratio to ``off``.  Also prints the text's length per note.
Then the 1,000-file cold import (``import_dataset``, a process pool, DIR's files repeated), each run in a child
process: this code with ``--parts off`` and ``tracks``, and ``--baseline-code`` (default /work/main: the code
before parts) with its default, in turn, ``--rounds`` times; files per second and CPU seconds (workers included).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from musicgpt_gui.core.dataset.convert import convert_task  # noqa: E402
from musicgpt_gui.core.dataset.import_options import ImportOptions  # noqa: E402
from musicgpt_gui.core.dataset.sources import Task  # noqa: E402
from musicgpt_gui.core.music.notation import parse_text  # noqa: E402

DEFAULT_DIR = Path("/work/shared/data/pop909")
DEFAULT_RESULTS = Path(__file__).parent / "results" / "import-parts.txt"
MODES = ("off", "tracks", "programs")
HERE = Path(__file__).resolve().parent.parent
_CHILD = """
import json, resource, sys, time
from musicgpt_gui.core.dataset.importer import ImportOptions, import_dataset
folder, out, parts = sys.argv[1], sys.argv[2], sys.argv[3]
extra = {} if parts == "default" else {"parts": parts}
options = ImportOptions(cache_dir=out + "/cache", **extra)
def cpu():
    return sum(sum(resource.getrusage(w)[:2]) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
c, t = cpu(), time.perf_counter()
result = import_dataset([folder], options, out + "/out")
print(json.dumps({"seconds": time.perf_counter() - t, "cpu": cpu() - c, "pieces": result.pieces}))
"""


def thousand(paths: list[Path], baseline: Path, rounds: int) -> list[str]:
    """Cold imports of 1,000 files in child processes, alternating the code and the mode."""
    work = Path(tempfile.mkdtemp(prefix="bench-parts-1000-"))
    folder = work / "thousand"
    folder.mkdir()
    for i in range(1000):
        shutil.copyfile(paths[i % len(paths)], folder / f"{i:04d}-{paths[i % len(paths)].name}")
    runs = {"before parts (baseline code)": (baseline, "default"), "--parts off": (HERE, "off"),
            "--parts tracks": (HERE, "tracks")}
    totals = {name: [0.0, 0.0] for name in runs}
    for r in range(rounds):
        for name, (code, parts) in runs.items():
            out = work / f"{r}-{parts}-{code.name}"
            env = dict(os.environ, PYTHONPATH=str(code))
            done = subprocess.run([sys.executable, "-c", _CHILD, str(folder), str(out), parts], env=env, cwd=code,
                                  capture_output=True, text=True, check=True)
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            totals[name][0] += figures["seconds"]
            totals[name][1] += figures["cpu"]
            shutil.rmtree(out)
    shutil.rmtree(work)
    base = totals["before parts (baseline code)"]
    lines = [f"1,000 files ({len(paths)} repeated), cold import_dataset, {rounds} rounds alternating:"]
    for name, (seconds, cpu) in totals.items():
        lines.append(
            f"  {name:<30} {1000 * rounds / seconds:6.0f} files/s  {1000 * cpu / (1000 * rounds):6.2f} ms CPU/file  "
            f"files/s ratio to the baseline {base[0] / seconds:.3f}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--baseline-code", type=Path, default=Path("/work/main"))
    parser.add_argument("--skip-thousand", action="store_true")
    args = parser.parse_args(argv)
    paths = sorted(args.dir.rglob("*.mid"))[: args.files]
    options = {mode: ImportOptions(parts=mode, include_drums=True) for mode in MODES}
    for path in paths[:3]:  # warm the caches (music21 names, pitch names) before timing
        for mode in MODES:
            convert_task(Task("midi", str(path), path.name), options[mode])
    cpu = dict.fromkeys(MODES, 0.0)
    chars = dict.fromkeys(MODES, 0)
    notes = 0
    for _ in range(args.rounds):
        for path in paths:
            for mode in MODES:
                start = time.process_time()
                result = convert_task(Task("midi", str(path), path.name), options[mode])
                cpu[mode] += time.process_time() - start
                if result.error is None and _ == 0:
                    chars[mode] += len(result.pieces[0].texts[0])
                    if mode == "off":
                        notes += len(parse_text(result.pieces[0].texts[0]).notes)
    runs = args.rounds * len(paths)
    out = [
        f"convert_task CPU per file, {len(paths)} files of {args.dir} x {args.rounds} rounds, interleaved "
        "(timed format, symusic, drums included; the machine was shared by several jobs: read the ratios)",
    ]
    for mode in MODES:
        out.append(
            f"--parts {mode:<9} {1000 * cpu[mode] / runs:7.2f} ms/file  ratio to off {cpu[mode] / cpu['off']:.3f}  "
            f"text {chars[mode] / max(notes, 1):.2f} chars/note"
        )
    print("\n".join(out), flush=True)
    if not args.skip_thousand:
        out += thousand(sorted(args.dir.rglob("*.mid")), args.baseline_code, args.rounds)
        print("\n".join(out[-4:]))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text("\n".join(out) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
