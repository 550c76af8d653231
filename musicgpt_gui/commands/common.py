"""Helpers several sub-commands share (a command never imports another command).

A progress display for the job contract (a tqdm bar on a terminal, a line every few seconds elsewhere),
note-text arguments, the vocabulary report, the source of `play` and `render` (a MIDI file, a text file
or --text), the remembered SoundFont and `--dataset`.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional, TextIO

import mido
from tqdm import tqdm

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.jobs import JobError, Progress, ProgressFn
from musicgpt_gui.core.midi import soundfont as soundfonts
from musicgpt_gui.core.midi.midi_io import render_midi
from musicgpt_gui.core.model.store import models, vocab
from musicgpt_gui.core.music.notation import DEFAULT_NOTE_LENGTH, parse_duration
from musicgpt_gui.core.readers import midi_reader
from musicgpt_gui.core.workspace import Workspace


LOG_INTERVAL_S = 5.0  # off a terminal: one progress line at most this often


@contextmanager
def progress_bar(description: str, stream: Optional[TextIO] = None) -> Iterator[ProgressFn]:
    """Yield an ``on_progress`` for a job: a 0..100% tqdm bar on a terminal; off one (CI, a log file,
    a pipe), where each tqdm frame would be a ``\r`` line, a plain line every few seconds and at the end."""
    stream = stream or sys.stderr
    if not _is_terminal(stream):
        with _progress_lines(description, stream) as report:
            yield report
        return
    bar_format = "{desc}: {percentage:3.0f}%|{bar}| {postfix}"
    with tqdm(total=1000, desc=description, unit="‰", leave=True, bar_format=bar_format, file=stream) as bar:

        def report(p: Progress) -> None:
            bar.n = int(round(p.fraction * 1000))
            if p.message:
                bar.set_postfix_str(p.message, refresh=False)
            bar.refresh()

        yield report


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


@contextmanager
def _progress_lines(description: str, stream: TextIO, interval: float = LOG_INTERVAL_S) -> Iterator[ProgressFn]:
    """The first report, then one line per ``interval`` seconds, then the last state on the way out."""
    latest: list[Optional[Progress]] = [None]
    printed: list[Optional[Progress]] = [None]
    shown_at = [-math.inf]  # monotonic time of the last line written

    def line(p: Progress) -> None:
        message = f" {p.message}" if p.message else ""
        print(f"{description}: {p.fraction * 100:3.0f}%{message}", file=stream, flush=True)
        printed[0], shown_at[0] = p, time.monotonic()

    def report(p: Progress) -> None:
        latest[0] = p
        if time.monotonic() - shown_at[0] >= interval:
            line(p)

    try:
        yield report
    finally:
        if latest[0] is not None and latest[0] is not printed[0]:
            line(latest[0])


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


def add_sampling_arguments(parser: argparse.ArgumentParser, length_help: str) -> None:
    """Length, temperature, top-k/top-p, variations, seed and the memorization dataset, with core's defaults."""
    from musicgpt_gui.core.model.sample.generation import GenerationSettings

    defaults = GenerationSettings()
    parser.add_argument("--length", type=int, default=defaults.length, metavar="N", help=length_help)
    parser.add_argument("--temperature", type=float, default=defaults.temperature, help="0: greedy")
    parser.add_argument("--top-k", type=int, default=defaults.top_k, help="0: off")
    parser.add_argument("--top-p", type=float, default=defaults.top_p, help="0: off; wins over --top-k")
    parser.add_argument("--variations", type=int, default=defaults.variations)
    parser.add_argument("--seed", type=int, help="same seed, same music (default: a fresh one, printed)")
    parser.add_argument("--dataset", help="dataset to check for memorized passages (default: the run's training data)")
    add_steering_arguments(parser)


def add_steering_arguments(parser: argparse.ArgumentParser) -> None:
    """The steering options that :func:`steering_settings` reads (generate, infill, jam)."""
    steer = parser.add_argument_group("steering (hard constraints; every generated bar keeps them)")
    steer.add_argument("--key", metavar="KEY", help="'D minor', 'Eb major', or 'prefix' (the prefix's key)")
    steer.add_argument("--chromatic", type=int, default=0, metavar="N", help="notes outside the key allowed per bar")
    steer.add_argument("--range", dest="pitch_range", metavar="LOW:HIGH", help="pitch range, e.g. C3:C6")
    steer.add_argument("--max-voices", type=int, default=0, metavar="N", help="most notes sounding together")
    steer.add_argument("--min-length", metavar="Q", help="no length shorter than Q quarters (0.25: a sixteenth)")
    steer.add_argument("--no-triplets", action="store_true", help="straight lengths only")
    steer.add_argument("--no-repeat", type=int, default=0, metavar="N",
                       help="no run of N notes/rests repeats one of the piece or the training data")
    steer.add_argument("--valid-only", action="store_true", help="whole, valid items only (implied by the others)")
    steer.add_argument("--play-parts", metavar="N,N",
                       help="only these declared parts play (e.g. 1,3), in a piece with parts")
    steer.add_argument("--part-range", action="append", metavar="PART=LOW:HIGH",
                       help="a declared part's pitch range, e.g. 2=C3:C5 (repeat for more parts)")
    steer.add_argument("--part-voices", action="append", metavar="PART=N",
                       help="most notes of a declared part sounding together, e.g. 1=1 (repeat for more parts)")
    add_control_arguments(parser)


def add_control_arguments(parser: argparse.ArgumentParser) -> None:
    """Learned controls (a run trained with --controls): bins forced at each bar line, N or N,N,... per bar."""
    group = parser.add_argument_group(
        "learned controls (a run trained with --controls; a bin per bar, or a list for the bars in turn)")
    group.add_argument("--density", metavar="BIN", help="note onsets per bar, as the run's bin (0: sparsest)")
    group.add_argument("--polyphony", metavar="BIN", help="mean notes sounding, as the run's bin (0: fewest)")
    group.add_argument("--pitch-bin", metavar="BIN", help="mean pitch, as the run's bin (0: lowest)")
    group.add_argument("--control-key", metavar="KEY",
                       help="the key of every 4 bars, e.g. 'D minor' (or 'D minor, A major' in turn)")
    for option, what in (("--part-density", "note onsets"), ("--part-polyphony", "notes sounding"),
                         ("--part-pitch-bin", "mean pitch")):
        group.add_argument(option, action="append", metavar="PART=BIN",
                           help=f"a declared part's {what} per bar, as the run's bin for that part, e.g. 2=1 "
                                "(or 2=0,1,... for the bars in turn; repeat for more parts)")


def control_request(args: argparse.Namespace):
    """The :class:`ControlRequest` of :func:`add_control_arguments`' options (checked against the run later)."""
    from musicgpt_gui.core.model.controls.request import ControlRequest, parse_bins, parse_keys, parse_part_bins

    parts = (*parse_part_bins(args.part_density, "density", "--part-density"),
             *parse_part_bins(args.part_polyphony, "poly", "--part-polyphony"),
             *parse_part_bins(args.part_pitch_bin, "pitch", "--part-pitch-bin"))
    return ControlRequest(parse_bins(args.density, "--density"), parse_bins(args.polyphony, "--polyphony"),
                          parse_bins(args.pitch_bin, "--pitch-bin"), parse_keys(args.control_key), parts)


def steering_settings(args: argparse.Namespace):
    """The checked :class:`Steering` of the steering options."""
    from musicgpt_gui.core.model.steer.constraints import (
        Steering, parse_length, parse_part_values, parse_parts, parse_range, parse_voices,
    )

    low, high = parse_range(args.pitch_range) if args.pitch_range else (None, None)
    return Steering(
        key=args.key,
        chromatic_per_bar=args.chromatic,
        low=low,
        high=high,
        max_voices=args.max_voices,
        min_length=parse_length(args.min_length) if args.min_length else None,
        no_triplets=args.no_triplets,
        no_repeat=args.no_repeat,
        grammar=args.valid_only,
        parts=parse_parts(args.play_parts) if args.play_parts else (),
        part_ranges=parse_part_values(args.part_range, parse_range, "--part-range"),
        part_voices=parse_part_values(args.part_voices, parse_voices, "--part-voices"),
        keep_rhythm=getattr(args, "keep_rhythm", False),
    ).validate()


def sampling_settings(args: argparse.Namespace):
    """The checked GenerationSettings of :func:`add_sampling_arguments`' options."""
    from musicgpt_gui.core.model.sample.generation import GenerationSettings

    return GenerationSettings(
        length=args.length,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        variations=args.variations,
        seed=args.seed,
        steering=steering_settings(args),
        controls=control_request(args),
    ).validate()


def add_source_arguments(parser: argparse.ArgumentParser, verb: str) -> None:
    """FILE or --text: what :func:`load_source` reads."""
    parser.add_argument("source", nargs="?", metavar="FILE", help="a .mid file, or a file of note text")
    parser.add_argument("--text", help=f"note text to {verb}, seed or timed format")


def load_source(args: argparse.Namespace) -> mido.MidiFile:
    """The piece to play or render: ``--text``, a MIDI file, or a note-text file."""
    if (args.text is None) == (args.source is None):
        raise JobError("Give either a FILE or --text (play also takes --list-ports).")
    if args.text is not None:
        return render_midi(args.text, note_length=args.note_length)
    if Path(args.source).suffix.lower() in midi_reader.EXTENSIONS:
        try:
            return mido.MidiFile(args.source)
        except (OSError, ValueError, EOFError, KeyError) as exc:
            raise JobError(f"Cannot read MIDI file {args.source}: {exc}") from exc
    return render_midi(read_text_file(args.source), note_length=args.note_length)


def remembered_soundfont(workspace: Workspace, chosen: str | None):
    """``--soundfont`` (checked, then remembered), else the remembered one, else None (search)."""
    choice_file = workspace.root / soundfonts.CHOICE_FILE
    if chosen:
        path = soundfonts.find_soundfont(chosen)
        soundfonts.save_choice(choice_file, path.resolve())
        return path
    return soundfonts.load_choice(choice_file)


def resolve_dataset(workspace: Workspace, value: str) -> Path:
    """``--dataset``: a dataset folder path, or a name under ``<workspace>/datasets``."""
    for folder in (Path(value).expanduser(), workspace.datasets / value):
        if dataset_files.is_dataset_folder(folder):
            return folder.resolve()
    root = workspace.datasets
    known = sorted(p.name for p in root.iterdir() if dataset_files.is_dataset_folder(p)) if root.is_dir() else []
    hint = f" Datasets in the workspace: {', '.join(known)}." if known else " Import one first (musicgpt import)."
    needed = dataset_files.split_path(Path(value), dataset_files.ALL).name
    raise JobError(f"'{value}' is not a dataset folder (no {needed} there or in {workspace.datasets}).{hint}")
