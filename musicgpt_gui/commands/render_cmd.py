"""`musicgpt render`: a .mid file or note text -> a WAV file through the built-in SoundFont synth."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from musicgpt_gui.commands.common import (
    add_note_length,
    add_source_arguments,
    load_source,
    progress_bar,
    remembered_soundfont,
)
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.midi.synth import DEFAULT_SAMPLE_RATE, render_audio
from musicgpt_gui.core.workspace import Workspace


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "render",
        help="render a .mid file or note text to a WAV file with a SoundFont",
        description="Works without any audio device. Without --soundfont the last chosen one is used, "
        "else the first General MIDI SoundFont installed (e.g. Debian's timgm6mb-soundfont).",
    )
    add_source_arguments(parser, "render")
    parser.add_argument("--out", required=True, metavar="FILE.wav", help="the WAV file to write")
    parser.add_argument("--soundfont", metavar="FILE.sf2", help="the SoundFont to use (remembered)")
    parser.add_argument(
        "--sample-rate",
        type=int,
        default=DEFAULT_SAMPLE_RATE,
        metavar="N",
        help=f"samples per second (default {DEFAULT_SAMPLE_RATE})",
    )
    add_note_length(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, workspace: Workspace) -> int:
    folder = Path(args.out).expanduser().resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise JobError(f"Cannot write {args.out}: {folder} is not a folder this user can write to.")
    midi = load_source(args)
    soundfont = remembered_soundfont(workspace, args.soundfont)
    with progress_bar(f"Rendering {Path(args.out).name}") as report:
        written = render_audio(midi, args.out, soundfont=soundfont, sample_rate=args.sample_rate, on_progress=report)
    print(written)
    return 0
