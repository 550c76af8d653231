"""Import speed with parts against the same import without them, measured in one run on the same files.

    python bench/bench_import_parts.py [DIR] [--files N] [--rounds R] [--results FILE]

Converts each file (``convert_task``, the per-file work of ``musicgpt import``, timed format, symusic
reader, no cache, no pool) with ``--parts off`` (today's text), ``tracks`` and ``programs``,
interleaved file by file and round by round so the machine's load falls on all three alike, and
prints CPU seconds per file and the ratio to ``off``.  Also prints the text's length per note.
"""
from __future__ import annotations

import argparse
import sys
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
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
    print("\n".join(out))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text("\n".join(out) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
