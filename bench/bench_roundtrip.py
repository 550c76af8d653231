"""Round-trip note F1 (mir_eval): MIDI -> timed text (musicgpt import) -> MIDI (musicgpt export).

Cases: Bach chorales rendered to MIDI by music21, music21's shipped test MIDI files, and the
synthetic stress files of bench/stress_midi.py.  A note matches with the same pitch and an onset
within 50 ms (onset F1), and also an offset within 50 ms or 20% of its length (onset+offset F1).
The reference is every note as a MIDI player sounds it, channel by channel (see bench/roundtrip.py);
"kept" is the number of notes that come back over the number in the file.
Each case is scored on the default grid (1/12) and, in the same run, on music21's grid (the
timed format before version 2) as the baseline.  Totals are weighted by reference notes.

Part-aware (``--parts-results``): drums included, a note matches only in its own part as well
(mir_eval's matching run part by part, bench/roundtrip.py ``part_score``).  A part is a program, or the
drums, or the k-th track of one program.  On POP909 (``--pop909 N`` songs) and the stress files:
``--parts tracks`` scored by track; ``--parts programs`` scored by program (MT3's instrument); and the
format before parts (one stream with ``--programs``, instrument names choosing programs) scored both ways.

    python bench/bench_roundtrip.py [--bach N] [--results bench/results/roundtrip.txt]
                                    [--pop909 N] [--parts-results bench/results/roundtrip-parts.txt] [--parts-only]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import mido

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.roundtrip import PartScore, Score, part_round_trip, part_score, round_trip, score  # noqa: E402
from musicgpt_gui.core.dataset.convert import convert_task  # noqa: E402
from musicgpt_gui.core.dataset.import_options import ImportOptions  # noqa: E402
from musicgpt_gui.core.dataset.sources import Task  # noqa: E402
from bench.stress_midi import write_cases  # noqa: E402
from musicgpt_gui.core.midi.midi_io import render_midi  # noqa: E402
from musicgpt_gui.core.music.notation import join_items  # noqa: E402
from musicgpt_gui.core.music.render import render_merged  # noqa: E402
from musicgpt_gui.core.readers.midi_reader import read_piece  # noqa: E402

DEFAULT_RESULTS = Path(__file__).parent / "results" / "roundtrip.txt"
PARTS_RESULTS = Path(__file__).parent / "results" / "roundtrip-parts.txt"
POP909 = Path("/work/shared/data/pop909")


def music21_grid_round_trip(path: Path) -> mido.MidiFile:
    """The baseline: the same path on music21's (4, 3) grid, lengths snapped on their own."""
    return render_midi(join_items(render_merged(read_piece(path, flat=False, grid=None), "timed")))


def slowest_tempo(midi: mido.MidiFile) -> float:
    tempos = [mido.tempo2bpm(m.tempo) for t in midi.tracks for m in t if m.type == "set_tempo"]
    return min(tempos, default=120.0)


def bach_files(count: int, folder: Path) -> list[Path]:
    from music21 import corpus

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in corpus.chorales.Iterator(returnType="filename"):
        if len(paths) == count:
            break
        path = folder / f"{name.replace('/', '_')}.mid"
        try:
            corpus.parse(name).write("midi", fp=path)
        except Exception:  # noqa: BLE001  a few chorales have repeats music21 cannot expand: skip them
            continue
        paths.append(path)
    return paths


VARIANTS = {
    "grid 1/12": lambda path: round_trip(path, 12),
    "grid 1/24": lambda path: round_trip(path, 24),
    "baseline": music21_grid_round_trip,
}


def run_case(paths: list[Path]) -> tuple[dict[str, Score], int, int]:
    """(a summed score per variant, files, files slower than 50 bpm) for the files of one case."""
    totals = {name: Score(0, 0, 0.0, 0.0) for name in VARIANTS}
    slow = 0
    for path in paths:
        original = mido.MidiFile(path)
        slow += slowest_tempo(original) < 50
        for name, convert in VARIANTS.items():
            add(totals[name], score(original, convert(path)), weight=True)
    return totals, len(paths), slow


def add(total: Score, part: Score, weight: bool = False) -> None:
    """Sum scores; F1s are kept multiplied by the note count until :func:`line` divides them."""
    total.notes += part.notes
    total.estimate_notes += part.estimate_notes
    total.onset_f1 += part.onset_f1 * (part.notes if weight else 1)
    total.onset_offset_f1 += part.onset_offset_f1 * (part.notes if weight else 1)


def line(name: str, totals: dict[str, Score], files: int, slow: int) -> str:
    first = totals["grid 1/12"]
    kept = first.estimate_notes / max(first.notes, 1)
    note = f", {slow} < 50 bpm" if slow else ""
    cells = "  ".join(
        f"{variant}: {s.onset_f1 / max(s.notes, 1):.4f} / {s.onset_offset_f1 / max(s.notes, 1):.4f}"
        for variant, s in totals.items()
    )
    return f"{name:<26} {files:>3} files{note:<13} {first.notes:>6} notes (kept {kept:6.1%})  {cells}"


def before_parts(path: Path) -> mido.MidiFile:
    """The format before parts, at its most instrument-aware: one stream with program= controls and drums."""
    result = convert_task(Task("midi", str(path), path.name), ImportOptions(programs=True, include_drums=True))
    if result.error:
        raise ValueError(f"{path}: {result.error}")
    return render_midi(result.pieces[0].texts[0])


PART_VARIANTS = {  # name: (round trip, part label)
    "tracks/by track": (lambda path: part_round_trip(path, "tracks"), "track"),
    "programs/by program": (lambda path: part_round_trip(path, "programs"), "program"),
    "no parts/by track": (before_parts, "track"),
    "no parts/by program": (before_parts, "program"),
}


def run_parts_case(paths: list[Path]) -> dict[str, PartScore]:
    totals = {name: PartScore() for name in PART_VARIANTS}
    for path in paths:
        original = mido.MidiFile(path)
        estimates: dict[object, mido.MidiFile] = {}
        for name, (convert, by) in PART_VARIANTS.items():
            if convert not in estimates:
                estimates[convert] = convert(path)
            totals[name].add(part_score(original, estimates[convert], by))
    return totals


def parts_line(name: str, totals: dict[str, PartScore], files: int) -> str:
    first = totals["tracks/by track"]
    cells = "  ".join(f"{v}: {s.onset_f1:.4f} / {s.onset_offset_f1:.4f}" for v, s in totals.items())
    kept = first.estimate_notes / max(first.notes, 1)
    return f"{name:<26} {files:>3} files {first.notes:>7} notes (kept {kept:6.1%})  {cells}"


def run_parts(pop909: int, stress: dict[str, Path], results: Path, start: int = 0) -> None:
    songs = sorted(POP909.glob("*.mid"))[start : start + pop909]
    cases = {f"pop909 ({songs[0].stem}-{songs[-1].stem})": songs}
    cases.update({f"stress:{name}": [path] for name, path in stress.items()})
    out = [
        "MIDI -> timed text with parts -> MIDI, drums included: part-aware mir_eval onset F1 / onset+offset F1",
        "at 50 ms (a note matches only in its own part; variant = import mode / part label; 'no parts' = the format",
        " before parts with --programs --include-drums, the issue's baseline)",
    ]
    grand = {name: PartScore() for name in PART_VARIANTS}
    stress_total = {name: PartScore() for name in PART_VARIANTS}
    for name, paths in cases.items():
        totals = run_parts_case(paths)
        out.append(parts_line(name, totals, len(paths)))
        print(out[-1], flush=True)
        for variant, part in totals.items():
            grand[variant].add(part)
            if name.startswith("stress:"):
                stress_total[variant].add(part)
    out.append(parts_line("stress total", stress_total, len(stress)))
    out.append(parts_line("total", grand, sum(len(p) for p in cases.values())))
    print("\n".join(out[-2:]))
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text("\n".join(out) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bach", type=int, default=30, metavar="N", help="chorales to render (default %(default)s)")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--pop909", type=int, default=100, metavar="N", help="POP909 songs for the part-aware score")
    parser.add_argument("--pop909-start", type=int, default=0, metavar="K", help="skip the first K POP909 songs")
    parser.add_argument("--parts-results", type=Path, default=PARTS_RESULTS)
    parser.add_argument("--parts-only", action="store_true", help="only the part-aware score")
    args = parser.parse_args(argv)
    import music21

    work = Path(tempfile.mkdtemp(prefix="bench-roundtrip-"))
    stress = write_cases(work / "stress")
    run_parts(args.pop909, stress, args.parts_results, args.pop909_start)
    if args.parts_only:
        return 0
    cases: dict[str, list[Path]] = {
        "bach-chorales": bach_files(args.bach, work / "bach"),
        "music21-test-midi": sorted((Path(music21.__file__).parent / "midi" / "testPrimitive").glob("*.mid")),
    }
    cases.update({f"stress:{name}": [path] for name, path in stress.items()})
    out = [
        "MIDI -> timed text -> MIDI: mir_eval onset F1 / onset+offset F1 at 50 ms, per variant",
        "(grid 1/12 is the default; baseline: music21's (4, 3) grid, the timed format before version 2)",
    ]
    grand = {name: Score(0, 0, 0.0, 0.0) for name in VARIANTS}
    files = slow = 0
    for name, paths in cases.items():
        totals, count, slower = run_case(paths)
        out.append(line(name, totals, count, slower))
        print(out[-1], flush=True)
        for variant, part in totals.items():
            add(grand[variant], part)
        files, slow = files + count, slow + slower
    out.append(line("weighted total", grand, files, slow))
    print(out[-1])
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text("\n".join(out) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
