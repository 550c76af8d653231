"""Helpers several sub-commands share (a command never imports another command).

A tqdm progress bar for the job contract, note-text arguments, and the vocabulary report.
"""
from __future__ import annotations

import argparse
import math
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tqdm import tqdm

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.jobs import JobError, Progress, ProgressFn
from musicgpt_gui.core.model import models, vocab
from musicgpt_gui.core.music.notation import DEFAULT_NOTE_LENGTH, parse_duration


@contextmanager
def progress_bar(description: str) -> Iterator[ProgressFn]:
    """Yield an ``on_progress`` that drives a 0..100% tqdm bar on stderr."""
    bar_format = "{desc}: {percentage:3.0f}%|{bar}| {postfix}"
    with tqdm(total=1000, desc=description, unit="‰", leave=True, bar_format=bar_format) as bar:

        def report(p: Progress) -> None:
            bar.n = int(round(p.fraction * 1000))
            if p.message:
                bar.set_postfix_str(p.message, refresh=False)
            bar.refresh()

        yield report


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def note_length(text: str) -> float:
    """A duration in quarters, within the limits the note-text grammar allows."""
    value = parse_duration(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a note length in quarters (more than 0, at most 64)")
    return float(value)


def add_note_length(parser: argparse.ArgumentParser) -> None:
    """--note-length, for `export` and `play`: seed-format text has no durations of its own."""
    parser.add_argument(
        "--note-length",
        type=note_length,
        default=DEFAULT_NOTE_LENGTH,
        metavar="Q",
        help=f"length of seed-format notes in quarter notes (default {DEFAULT_NOTE_LENGTH})",
    )


def read_text_file(path: str) -> str:
    """A note-text file; line breaks count as item separators."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise JobError(f"Cannot read note text from {path}: {exc}") from exc
    return ", ".join(line for line in text.splitlines() if line.strip())


def print_vocab_report(dataset: Path, extra: list[models.ModelInfo]) -> None:
    """Both dataset-trained vocabularies (and any given models') on the same pieces."""
    texts = dataset_files.load_split(dataset, dataset_files.TRAIN)
    encoders = {}
    for kind in vocab.KINDS:
        built = vocab.build_vocab(texts, kind, models.PRESETS["small"]["vocab_size"])
        encoders[f"{kind} (trained on {dataset.name})"] = vocab.make_encoder(*built)
    for info in extra:
        encoders[f"{info.name} ({info.vocab})"] = vocab.load_encoder(info.path)
    print(f"{'vocabulary':<40} {'tokens':>8} {'elements':>9} {'tok/elem':>9} {'n_vocab':>8}")
    for r in vocab.vocab_report(texts, encoders):
        print(f"{r.name:<40} {r.tokens:>8} {r.elements:>9} {r.tokens_per_element:>9.2f} {r.n_vocab:>8}")
