"""Import sources into a dataset folder: parallel over files, cached per file, tolerant of bad input.

Sources are files or folders (searched recursively), corpus names (``corpus:bach``,
``corpus:folk``) and single-column CSV files in the seed's format.  Each file is converted
on its own (in a process pool when there are several), so a bad file costs one line in
the error list and the rest still import.  Results are cached under ``options.cache_dir``
keyed by the file's path, size, mtime, the options and :data:`CODE_VERSION`, so importing
the same files again only reads the cache.

Augmentation: ``transpose=N`` adds, for each piece, copies shifted by every k in
-N..-1 and 1..N semitones (copies that would leave MIDI range 0..127 are dropped).
Transposed copies stay in the same train/valid split as their original.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Union

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.jobs import CancelToken, Cancelled, JobError, Progress, ProgressFn, no_progress
from musicgpt_gui.core.readers.midi_reader import MIDI_SUFFIXES, MidiReadError, Piece, read_piece, render_flat, render_merged
from musicgpt_gui.core.music.tempo_map import TempoMap
from musicgpt_gui.core.music.notation import FORMATS, SEP, join_items, name_to_midi, parse_text, split_items
from musicgpt_gui.core.readers.score_reader import SCORE_SUFFIXES, ScoreReadError, read_scores

CODE_VERSION = "import-1"  # bump when the conversion changes, so old cache entries are ignored
TRACK_MODES = ("merge", "first", "flat")
CORPORA = ("bach", "folk")
CSV_SUFFIXES = (".csv",)
SUFFIXES = MIDI_SUFFIXES + SCORE_SUFFIXES + CSV_SUFFIXES


@dataclass
class ImportOptions:
    """How to convert.  ``tracks=None`` means 'flat' for the seed format (music21's order,
    exactly the seed's text) and 'merge' for the timed format (one time-ordered stream)."""

    format: str = "timed"
    tracks: Optional[str] = None
    limit: Optional[int] = None
    transpose: int = 0
    include_drums: bool = False
    cache_dir: Optional[Path] = None
    workers: Optional[int] = None
    valid_every: int = 10  # about one piece in ten goes to valid.csv

    @property
    def track_mode(self) -> str:
        return self.tracks or ("flat" if self.format == "seed" else "merge")

    def check(self) -> None:
        if self.format not in FORMATS:
            raise JobError(f"unknown format '{self.format}' (choose {' or '.join(FORMATS)})")
        if self.track_mode not in TRACK_MODES:
            raise JobError(f"unknown track mode '{self.tracks}' (choose {', '.join(TRACK_MODES)})")
        if self.track_mode == "flat" and self.format == "timed":
            raise JobError("--tracks flat interleaves tracks without timing; use it with --format seed")
        if not 0 <= self.transpose <= 12:
            raise JobError("--transpose must be between 0 and 12 semitones")
        if self.limit is not None and self.limit < 1:
            raise JobError("--limit must be at least 1")

    def cache_fields(self) -> dict[str, Any]:
        return {"format": self.format, "tracks": self.track_mode, "transpose": self.transpose, "include_drums": self.include_drums}


@dataclass
class Task:
    """One file to convert: kind is midi|score|csv; ``label`` is what the error list shows."""

    kind: str
    path: str
    label: str


@dataclass
class FileResult:
    label: str
    pieces: list[dict[str, Any]] = field(default_factory=list)  # {"title", "texts": [original, copies...], "stats"}
    error: Optional[str] = None
    cached: bool = False


@dataclass
class ImportResult:
    out_dir: Path
    pieces: int
    rows: int
    items: int
    errors: list[str]
    cache_hits: int
    files: list[FileResult]
    metadata: dict[str, Any]


# ---------------------------------------------------------------- sources


def resolve_sources(sources: Iterable[Union[str, Path]]) -> tuple[list[Task], list[str]]:
    """Expand sources into per-file tasks; returns (tasks, error lines for unusable sources)."""
    tasks: list[Task] = []
    errors: list[str] = []
    for source in sources:
        text = str(source)
        if text.startswith("corpus:"):
            tasks.extend(corpus_tasks(text.split(":", 1)[1]))
            continue
        path = Path(text).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES and not _dataset_file(p))
            tasks.extend(_task_for(p) for p in found)
        elif path.is_file():
            if path.suffix.lower() in SUFFIXES:
                tasks.append(_task_for(path))
            else:
                errors.append(
                    f"{path}: unsupported file type '{path.suffix or '(none)'}' "
                    "(use .mid, .midi, .xml, .musicxml, .mxl, .abc, .krn or .csv)"
                )
        else:
            errors.append(f"{path}: no such file or folder")
    return tasks, errors


def _dataset_file(path: Path) -> bool:
    """A CSV of an imported dataset (its folder has metadata.json): scanning a folder must not import
    dataset.csv/train.csv/valid.csv again (validation rows would leak into training)."""
    return path.suffix.lower() == ".csv" and (path.parent / dataset_files.METADATA).is_file()


def _task_for(path: Path) -> Task:
    suffix = path.suffix.lower()
    kind = "midi" if suffix in MIDI_SUFFIXES else "csv" if suffix in CSV_SUFFIXES else "score"
    return Task(kind, str(path.resolve()), str(path))


def corpus_tasks(name: str) -> list[Task]:
    """The built-in music21 corpora: 'bach' (371 chorales) and 'folk' (Essen folk songs, ABC)."""
    from music21 import corpus

    if name == "bach":
        tasks = []
        for work in corpus.chorales.Iterator(returnType="filename"):
            path = corpus.getWork(work)
            path = path[0] if isinstance(path, list) else path
            tasks.append(Task("score", str(path), f"corpus:{work}"))
        return tasks
    if name == "folk":
        paths = sorted(p for p in corpus.getCorePaths() if "essenFolksong" in str(p))
        return [Task("score", str(p), f"corpus:essenFolksong/{Path(p).name}") for p in paths]
    raise JobError(f"unknown corpus '{name}' (choose {' or '.join(CORPORA)})")


# ---------------------------------------------------------------- one file


def convert_task(task: Task, options: ImportOptions) -> FileResult:
    """Convert one file (runs in a worker process); failures become ``error``, never raise."""
    result = FileResult(task.label)
    try:
        if task.kind == "csv":
            result.pieces = _csv_pieces(task, options)
        else:
            if task.kind == "midi":
                flat = options.track_mode == "flat"
                pieces = [read_piece(task.path, include_drums=options.include_drums, flat=flat)]
            else:
                pieces = read_scores(task.path)
            for piece in pieces:
                rendered = _render(piece, options)
                if rendered:
                    result.pieces.append(rendered)
            if not result.pieces:
                result.error = "no notes in the selected tracks"
    except (MidiReadError, ScoreReadError) as exc:
        result.error = str(exc)
    except Exception as exc:  # one bad file must not stop the import
        result.error = f"cannot convert ({type(exc).__name__}: {exc})"
    return result


def _shifts(transpose: int) -> list[int]:
    return [0] + [k for n in range(1, transpose + 1) for k in (-n, n)]


def _render(piece: Piece, options: ImportOptions) -> Optional[dict[str, Any]]:
    texts = []
    for k in _shifts(options.transpose):
        if options.track_mode == "flat":
            items = render_flat(piece.flat or [], k)
        else:
            items = render_merged(piece, options.format, options.track_mode, k)
        if items is None:
            if k == 0:
                return None
            continue
        texts.append(join_items(items))
    stats = _stats(texts[0], piece) if texts else None
    if not stats or not stats["notes"] + stats["chords"]:
        return None
    return {"title": piece.title, "texts": texts, "stats": stats}


def _stats(text: str, piece: Piece) -> dict[str, Any]:
    """Counts of the untransposed text, plus the piece's length in quarters and seconds."""
    notes = chords = rests = 0
    pitches: set[str] = set()
    items = split_items(text)
    for item in items:
        tokens = item.partition(":")[0].split()
        if tokens == ["rest"]:
            rests += 1
        elif tokens and all(name_to_midi(t.partition("~")[0]) is not None for t in tokens):
            pitches.update(t.partition("~")[0] for t in tokens)
            if len(tokens) == 1:
                notes += 1
            else:
                chords += 1
    quarters = max((n.onset + n.duration for n in piece.notes), default=0)
    return {
        "items": len(items),
        "notes": notes,
        "chords": chords,
        "rests": rests,
        "pitches": sorted(pitches),
        "quarters": float(quarters),
        "seconds": _seconds(piece, quarters),
    }


def _seconds(piece: Piece, end) -> float:
    """Length in seconds through the piece's tempo marks."""
    marks = [(m.offset, float(m.value)) for m in piece.marks if m.kind == "tempo"]
    return round(TempoMap.from_marks(marks).seconds_at(end), 3)


def _csv_pieces(task: Task, options: ImportOptions) -> list[dict[str, Any]]:
    """Rows of an existing seed CSV, cleaned by the tolerant parser (junk items dropped)."""
    try:
        rows = dataset_files.read_rows(Path(task.path))
    except (UnicodeDecodeError, IndexError, OSError) as exc:
        raise ScoreReadError(f"not a readable single-column CSV ({exc})") from None
    pieces = []
    for number, row in enumerate(rows, 1):
        parsed = parse_text(row)
        if not parsed.notes:
            continue
        timed = any(":" in item for item in parsed.items)
        if timed != (options.format == "timed"):
            kind = "timed" if timed else "seed"
            raise ScoreReadError(f"holds {kind}-format text; import it with --format {kind}")
        text = parsed.text
        pieces.append({"title": f"{Path(task.path).stem} row {number}", "texts": [text], "stats": _csv_stats(text, parsed)})
    if not pieces:
        raise ScoreReadError("no rows with notes")
    return pieces


def _csv_stats(text: str, parsed) -> dict[str, Any]:
    piece = Piece(title="")
    stats = _stats(text, piece)
    stats["quarters"] = float(parsed.length)
    stats["seconds"] = round(TempoMap.from_marks(parsed.tempos).seconds_at(parsed.length), 3)
    return stats


# ---------------------------------------------------------------- cache


def _cache_path(task: Task, options: ImportOptions) -> Optional[Path]:
    if options.cache_dir is None:
        return None
    try:
        st = os.stat(task.path)
    except OSError:
        return None
    key = json.dumps([task.path, task.kind, st.st_size, st.st_mtime_ns, options.cache_fields(), CODE_VERSION])
    return Path(options.cache_dir) / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"


def _cache_load(path: Optional[Path], label: str) -> Optional[FileResult]:
    if path is None or not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return FileResult(label, data["pieces"], data["error"], cached=True)
    except (OSError, ValueError, KeyError):
        return None  # a damaged entry is simply converted again


def _cache_store(path: Optional[Path], result: FileResult) -> None:
    """Temp file + rename, without fsync: a lost entry after a crash is just converted again.

    The cache only saves time, so a cache that cannot be written (full disk, a file in its place)
    does not stop the import.
    """
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"pieces": result.pieces, "error": result.error}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


# ---------------------------------------------------------------- the job


def import_dataset(
    sources: Iterable[Union[str, Path]],
    options: Optional[ImportOptions] = None,
    out_dir: Union[str, Path] = "dataset",
    *,
    on_progress: ProgressFn = no_progress,
    cancel: Optional[CancelToken] = None,
) -> ImportResult:
    """Convert every source file and write dataset.csv, train.csv, valid.csv and metadata.json.

    Raises :class:`JobError` when nothing usable was found, and :class:`Cancelled` after a
    cancel -- once the pieces finished so far are written to ``out_dir``.
    """
    options = options or ImportOptions()
    options.check()
    cancel = cancel or CancelToken()
    sources = [str(s) for s in sources]
    tasks, source_errors = resolve_sources(sources)
    if options.limit is not None:
        tasks = tasks[: options.limit]
    if not tasks:
        detail = f" ({'; '.join(source_errors)})" if source_errors else ""
        raise JobError(f"nothing to import: no MIDI, MusicXML, ABC, kern or CSV files in {', '.join(sources) or 'the sources'}{detail}")
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)  # before converting anything: a bad target fails at once
    except OSError as exc:
        raise JobError(f"Cannot write the dataset to {out_dir} ({exc.strerror or exc}).") from None
    results: list[Optional[FileResult]] = [None] * len(tasks)
    try:
        _run(tasks, options, results, on_progress, cancel)
    except Cancelled:
        if dataset_files.split_path(out_dir, dataset_files.ALL).is_file():
            raise Cancelled(f"import cancelled; the dataset already in {out_dir} was kept") from None
        result = _write(out_dir, sources, options, [r for r in results if r is not None], source_errors, True, len(tasks))
        raise Cancelled(f"import cancelled; kept {result.pieces} pieces in {result.out_dir}") from None
    return _write(out_dir, sources, options, [r for r in results if r is not None], source_errors, False, len(tasks))


def _run(
    tasks: list[Task],
    options: ImportOptions,
    results: list[Optional[FileResult]],
    on_progress: ProgressFn,
    cancel: CancelToken,
) -> None:
    """Fill ``results`` from the cache or by converting; report per file; honour cancel."""
    total = len(tasks)
    finished = 0

    def report(index: int) -> None:
        nonlocal finished
        finished += 1
        r = results[index]
        state = "cached" if r.cached else ("error" if r.error else "ok")
        info = {"done": finished, "total": total, "file": r.label, "status": state}
        on_progress(Progress(finished / total, f"{finished}/{total} {Path(r.label).name}", info))

    pending = []
    for i, task in enumerate(tasks):
        cached = _cache_load(_cache_path(task, options), task.label)
        if cached is not None:
            results[i] = cached
            report(i)
        else:
            pending.append(i)
    on_progress(Progress(finished / total, f"{finished}/{total} files", {"done": finished, "total": total}))
    cancel.check()
    workers = min(options.workers or os.cpu_count() or 1, len(pending))
    if workers <= 1:
        for i in pending:
            cancel.check()
            results[i] = convert_task(tasks[i], options)
            _cache_store(_cache_path(tasks[i], options), results[i])
            report(i)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=_pool_context()) as pool:
        queue = list(pending)
        running: dict[Future, int] = {}
        try:
            while queue or running:
                while queue and len(running) < 2 * workers and not cancel.cancelled:
                    i = queue.pop(0)
                    running[pool.submit(convert_task, tasks[i], options)] = i
                finished_now, _ = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in finished_now:
                    i = running.pop(future)
                    results[i] = future.result()
                    _cache_store(_cache_path(tasks[i], options), results[i])
                    report(i)
                if cancel.cancelled and not running:
                    break
            cancel.check()
        finally:
            for future in running:
                future.cancel()


def _pool_context():
    """Workers that start fast without forking a threaded process.

    From a single-threaded caller (CLI, scripts) on Linux the pool forks, after music21 is
    imported here once, so workers start in milliseconds.  From a GUI worker thread it uses
    forkserver (a clean server process with music21 preloaded; start-up paid once per app),
    because forking a process that runs other threads can deadlock.  Elsewhere: spawn.
    """
    if sys.platform.startswith("linux"):
        if threading.active_count() == 1:
            import music21  # noqa: F401  (inherited by the forked workers)

            return multiprocessing.get_context("fork")
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["musicgpt_gui.core.dataset.importer", "music21"])
        return ctx
    return multiprocessing.get_context("spawn")


def _split(key: str, every: int) -> str:
    digest = int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16)
    return dataset_files.VALID if digest % every == 0 else dataset_files.TRAIN


def _write(
    out_dir: Path,
    sources: list[str],
    options: ImportOptions,
    done: list[FileResult],
    source_errors: list[str],
    cancelled: bool,
    total_files: int,
) -> ImportResult:
    errors = source_errors + [f"{r.label}: {r.error}" for r in done if r.error]
    groups = [(f"{r.label}#{n}", piece) for r in done if not r.error for n, piece in enumerate(r.pieces)]
    if options.limit is not None:
        groups = groups[: options.limit]
    if not groups:
        if cancelled:
            raise Cancelled("import cancelled before any piece was finished")
        first = f"; first error: {errors[0]}" if errors else ""
        raise JobError(f"no piece could be imported from {len(done)} file(s){first}")
    splits = {key: _split(key, options.valid_every) for key, _ in groups}
    if all(s == dataset_files.VALID for s in splits.values()):
        splits[groups[0][0]] = dataset_files.TRAIN
    if len(groups) > 1 and all(s == dataset_files.TRAIN for s in splits.values()):
        splits[groups[-1][0]] = dataset_files.VALID
    rows = {dataset_files.TRAIN: [], dataset_files.VALID: []}
    for key, piece in groups:
        rows[splits[key]].extend(piece["texts"])
    all_rows = [text for _, piece in groups for text in piece["texts"]]
    dataset_files.write_rows(dataset_files.split_path(out_dir, dataset_files.ALL), all_rows)
    dataset_files.write_rows(dataset_files.split_path(out_dir, dataset_files.TRAIN), rows[dataset_files.TRAIN])
    dataset_files.write_rows(dataset_files.split_path(out_dir, dataset_files.VALID), rows[dataset_files.VALID])
    metadata = _metadata(sources, options, done, groups, rows, errors, cancelled, total_files)
    dataset_files.write_metadata(out_dir, metadata)
    return ImportResult(
        out_dir=out_dir,
        pieces=len(groups),
        rows=len(all_rows),
        items=sum(len(split_items(t)) for t in all_rows),
        errors=errors,
        cache_hits=sum(1 for r in done if r.cached),
        files=done,
        metadata=metadata,
    )


def _metadata(sources, options, done, groups, rows, errors, cancelled, total_files) -> dict[str, Any]:
    """metadata.json: what was imported, how, per-file status and summary statistics.

    ``files[i].index`` is the dataset.csv row of that file's first piece (None for errors);
    ``stats`` counts the original pieces, not their transposed copies.
    """
    stats = [piece["stats"] for _, piece in groups]
    pitches = sorted({p for s in stats for p in s["pitches"]}, key=lambda n: (name_to_midi(n) or 0, n))
    first_row: dict[str, int] = {}
    row = 0
    for key, piece in groups:
        first_row.setdefault(key.rsplit("#", 1)[0], row)
        row += len(piece["texts"])
    files = []
    for r in done:
        entry = {"source": r.label, "status": "error" if r.error else "ok", "error": r.error, "pieces": len(r.pieces), "cached": r.cached}
        if not r.error and r.label in first_row:
            entry.update(index=first_row[r.label], items=r.pieces[0]["stats"]["items"], duration=r.pieces[0]["stats"]["seconds"])
        files.append(entry)
    opts = asdict(options)
    opts["tracks"] = options.track_mode
    opts["cache_dir"] = str(options.cache_dir) if options.cache_dir else None
    return {
        "format": options.format,
        "separator": SEP,
        "code_version": CODE_VERSION,
        "sources": sources,
        "options": opts,
        "cancelled": cancelled,
        "files_total": total_files,
        "files": files,
        "errors": errors,
        "stats": {
            "pieces": len(groups),
            "rows": sum(len(v) for v in rows.values()),
            "train_rows": len(rows[dataset_files.TRAIN]),
            "valid_rows": len(rows[dataset_files.VALID]),
            "items": sum(s["items"] for s in stats),
            "notes": sum(s["notes"] for s in stats),
            "chords": sum(s["chords"] for s in stats),
            "rests": sum(s["rests"] for s in stats),
            "distinct_pitches": len(pitches),
            "quarters": round(sum(s["quarters"] for s in stats), 3),
            "seconds": round(sum(s["seconds"] for s in stats), 3),
        },
        "pitches": pitches,
        "pieces": [{"title": piece["title"], "source": key.rsplit("#", 1)[0], "copies": len(piece["texts"])} for key, piece in groups],
    }
