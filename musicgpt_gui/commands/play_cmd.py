"""`musicgpt play`: a .mid file or note text through the built-in synth or a MIDI output port (python-rtmidi).

The first time, and whenever ``--api synth`` or ``--soundfont`` is given, the built-in SoundFont
synth plays on the sound card; an API or port given once is remembered, like the SoundFont.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time

import mido

from musicgpt_gui.commands.common import (
    add_source_arguments,
    add_note_length,
    load_source,
    positive_float,
    progress_bar,
    remembered_soundfont,
)
from musicgpt_gui.core.jobs import JobError, Progress
from musicgpt_gui.core.midi.midi_ports import (
    APIS,
    BUILTIN_SYNTH,
    CHOICE_FILE,
    PortChoice,
    default_api,
    list_output_ports,
    load_choice,
    open_output,
    save_choice,
)
from musicgpt_gui.core.midi.playback import Player
from musicgpt_gui.core.midi.synth import SoundFontSynth
from musicgpt_gui.core.workspace import Workspace


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "play",
        help="play a .mid file or note text with the built-in synth or on a MIDI port",
        description="Without --api/--port/--virtual the last choice is used (remembered in the workspace); "
        "the first time, the built-in SoundFont synth.",
    )
    add_source_arguments(parser, "play")
    parser.add_argument(
        "--api",
        choices=[BUILTIN_SYNTH, *APIS],
        help=f"'{BUILTIN_SYNTH}' (the built-in SoundFont synth, the default) or a MIDI system "
        f"(usual here: {default_api()})",
    )
    parser.add_argument("--soundfont", metavar="FILE.sf2", help="the built-in synth's SoundFont (remembered)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--port", metavar="NAME", help="output port: its name or a unique part of it")
    target.add_argument("--virtual", metavar="NAME", help="open a virtual output port for a synth to connect to")
    parser.add_argument("--list-ports", action="store_true", help="list the API's output ports and exit")
    parser.add_argument(
        "--wait",
        type=positive_float,
        metavar="S",
        help="seconds to wait before playing, e.g. to connect a virtual port",
    )
    parser.add_argument("--clock", action="store_true",
                        help="also send MIDI clock and start/stop on the port, so a DAW follows (not with the synth)")
    add_note_length(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, workspace: Workspace) -> int:
    settings = workspace.root / CHOICE_FILE
    saved = load_choice(settings)
    api = args.api or (BUILTIN_SYNTH if args.soundfont else (saved.api if saved else BUILTIN_SYNTH))
    if args.list_ports and api == BUILTIN_SYNTH:
        api = default_api()
    if args.list_ports:
        names = list_output_ports(api)
        print("\n".join(names) if names else f"(no MIDI output ports on {api})")
        return 0
    midi = load_source(args)
    if api == BUILTIN_SYNTH:
        if args.port or args.virtual:
            raise JobError("--port and --virtual choose a MIDI port; give --api too (for example --api jack).")
        synth = SoundFontSynth(remembered_soundfont(workspace, args.soundfont))
        if args.api or args.soundfont:
            save_choice(settings, PortChoice(BUILTIN_SYNTH))
        play_on_synth(midi, synth)
        return 0
    explicit = bool(args.api or args.port or args.virtual)
    if args.port or args.virtual:
        choice = PortChoice(api, port=args.port, virtual=args.virtual)
    else:
        choice = saved if saved and saved.api == api else PortChoice(api)
    port = open_output(choice)
    try:
        if explicit:
            save_choice(
                settings, PortChoice(api, virtual=choice.virtual) if choice.virtual else PortChoice(api, port=port.name)
            )
        if args.wait:
            print(f"Waiting {args.wait:g} s: connect a synth to {port.name} ({api})", file=sys.stderr)
            time.sleep(args.wait)
        play(midi, port, f"{port.name} ({api})", clock=args.clock)
    finally:
        port.close()
    return 0


def play_on_synth(midi: mido.MidiFile, synth: SoundFontSynth) -> None:
    """The built-in synth on the sound card (QtMultimedia's sink, no window); no device -> one line."""
    from PySide6.QtCore import QCoreApplication, qInstallMessageHandler

    from musicgpt_gui.ui.audio_output import AudioOutput

    def quiet(_mode, _context, message: str) -> None:  # Qt's probing of absent sound servers
        if not message.startswith("PulseAudioService"):
            print(message, file=sys.stderr)

    qInstallMessageHandler(quiet)
    app = QCoreApplication.instance() or QCoreApplication([])
    output = AudioOutput(synth)
    try:
        play(midi, synth, output.description, wait_step=lambda: app.processEvents())
    finally:
        output.close()


def play(midi: mido.MidiFile, port, where: str, wait_step=None, clock: bool = False) -> None:
    """Play to the end; Ctrl-C (or any error) still silences the port on the way out."""
    with progress_bar(f"Playing on {where}") as report:

        def show(seconds: float) -> None:
            report(
                Progress(seconds / player.length if player.length else 1.0, f"{seconds:5.1f} / {player.length:.1f} s")
            )

        player = Player(port, on_position=show, clock=clock)
        player.load(midi)
        gc.freeze()  # a full collection would stall the player thread for every object loaded so far
        try:
            player.play()
            while not player.wait(0.02 if wait_step else 0.2):  # short waits keep Ctrl-C responsive
                if wait_step:
                    wait_step()
        finally:
            player.stop()
