"""The import job: sources -> a dataset folder, parallel over files, cached per file, tolerant of bad input.

Sources are files or folders (searched recursively), corpus names (``corpus:bach``,
``corpus:folk``) and single-column CSV files in the seed's format (sources.py).  Each file is
converted on its own (convert.py, in a process pool when there are several), so a bad file
costs one line in the error list and the rest still import.  Results are cached per file
(import_cache.py).  Transposed copies stay in the same train/valid split as their original.
"""
from __future__ import annotations

import hashlib
import os
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Union

from musicgpt_gui.core import processes
from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.dataset.convert import CODE_VERSION, ConvertedPiece, FileResult, convert_task
from musicgpt_gui.core.dataset.import_cache import cache_load, cache_path, cache_store
from musicgpt_gui.core.dataset.import_options import ImportOptions
from musicgpt_gui.core.dataset.metadata import DatasetMetadata, FileEntry, PieceEntry, write_metadata
from musicgpt_gui.core.dataset.sources import Task, resolve_sources
from musicgpt_gui.core.dataset.statistics import dataset_stats, sort_pitches
from musicgpt_gui.core.jobs import Cancelled, CancelToken, JobError, Progress, ProgressFn, no_progress
from musicgpt_gui.core.music.notation import FORMAT_VERSIONS, SEP, split_items
from musicgpt_gui.core.music.render import pitch_names
from musicgpt_gui.core.readers import formats


@dataclass
class ImportResult:
    out_dir: Path
    pieces: int
    rows: int
    items: int
    errors: list[str]
    cache_hits: int
    files: list[FileResult]
    metadata: DatasetMetadata



@dataclass
class ImportProgress:
    """What each import report carries (``Progress.info``): files done of all, and the file just done."""

    done: int
    total: int
    file: Optional[str] = None
    status: Optional[str] = None  # ok | cached | error

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
        where = ", ".join(sources) or "the sources"
        raise JobError(f"nothing to import: no {formats.format_names()} files in {where}{detail}")
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)  # before converting anything: a bad target fails at once
    except OSError as exc:
        raise JobError(f"Cannot write the dataset to {out_dir} ({exc.strerror or exc}).") from None
    results: list[Optional[FileResult]] = [None] * len(tasks)
    try:
        _run(tasks, options, results, on_progress, cancel)
    except Cancelled:
        if dataset_files.is_dataset_folder(out_dir):
            raise Cancelled(f"import cancelled; the dataset already in {out_dir} was kept") from None
        result = _write(out_dir, sources, options, [r for r in results if r], source_errors, True, len(tasks))
        raise Cancelled(f"import cancelled; kept {result.pieces} pieces in {result.out_dir}") from None
    return _write(out_dir, sources, options, [r for r in results if r], source_errors, False, len(tasks))


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
        info = ImportProgress(finished, total, r.label, state)
        on_progress(Progress(finished / total, f"{finished}/{total} {Path(r.label).name}", info))

    pending = []
    for i, task in enumerate(tasks):
        cached = cache_load(cache_path(task, options), task.label)
        if cached is not None:
            results[i] = cached
            report(i)
        else:
            pending.append(i)
    on_progress(Progress(finished / total, f"{finished}/{total} files", ImportProgress(finished, total)))
    cancel.check()
    workers = min(options.workers or os.cpu_count() or 1, len(pending))
    if workers <= 1:
        for i in pending:
            cancel.check()
            results[i] = convert_task(tasks[i], options)
            cache_store(cache_path(tasks[i], options), results[i])
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
                    cache_store(cache_path(tasks[i], options), results[i])
                    report(i)
                if cancel.cancelled and not running:
                    break
            cancel.check()
        finally:
            for future in running:
                future.cancel()


def _pool_context():
    """Workers that start fast (:func:`processes.worker_context`); forked ones inherit music21's names."""
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        import symusic  # noqa: F401  (these and the names are inherited by the forked workers)

        pitch_names()
    return processes.worker_context(["musicgpt_gui.core.dataset.importer", "music21", "symusic"])


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
        rows[splits[key]].extend(piece.texts)
    all_rows = [text for _, piece in groups for text in piece.texts]
    dataset_files.write_rows(dataset_files.split_path(out_dir, dataset_files.ALL), all_rows)
    dataset_files.write_rows(dataset_files.split_path(out_dir, dataset_files.TRAIN), rows[dataset_files.TRAIN])
    dataset_files.write_rows(dataset_files.split_path(out_dir, dataset_files.VALID), rows[dataset_files.VALID])
    metadata = _metadata(sources, options, done, groups, rows, errors, cancelled, total_files)
    write_metadata(out_dir, metadata)
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


def _metadata(
    sources: list[str],
    options: ImportOptions,
    done: list[FileResult],
    groups: list[tuple[str, ConvertedPiece]],
    rows: dict[str, list[str]],
    errors: list[str],
    cancelled: bool,
    total_files: int,
) -> DatasetMetadata:
    """What was imported, how, per-file status and summary statistics (of the originals, not the copies)."""
    first_row: dict[str, int] = {}
    row = 0
    for key, piece in groups:
        first_row.setdefault(key.rsplit("#", 1)[0], row)
        row += len(piece.texts)
    files = []
    for r in done:
        entry = FileEntry(r.label, "error" if r.error else "ok", r.error, len(r.pieces), r.cached, warning=r.warning)
        if not r.error and r.label in first_row:
            first = r.pieces[0].stats
            entry.index, entry.items, entry.duration = first_row[r.label], first.items, first.seconds
        files.append(entry)
    stats = [piece.stats for _, piece in groups]
    train_rows, valid_rows = len(rows[dataset_files.TRAIN]), len(rows[dataset_files.VALID])
    return DatasetMetadata(
        format=options.format,
        format_version=FORMAT_VERSIONS[options.format],
        grid=options.reader_grid,
        separator=SEP,
        code_version=CODE_VERSION,
        sources=sources,
        options=options.as_metadata(),
        cancelled=cancelled,
        files_total=total_files,
        files=files,
        errors=errors,
        warnings=[f"{r.label}: {r.warning}" for r in done if r.warning],
        stats=dataset_stats(stats, train_rows + valid_rows, train_rows, valid_rows),
        pitches=sort_pitches(p for s in stats for p in s.pitches),
        pieces=[PieceEntry(piece.title, key.rsplit("#", 1)[0], len(piece.texts)) for key, piece in groups],
    )
