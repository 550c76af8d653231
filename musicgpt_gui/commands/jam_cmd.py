"""`musicgpt jam`: call and response with a trained run, from a MIDI input to a MIDI output.

Play a phrase; after a bar of silence the model answers it for --bars bars on the output, in tempo,
then listens again.  Ctrl-C ends the jam; --export writes every exchange as one MIDI file.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from musicgpt_gui.commands.common import add_steering_arguments, positive_float, steering_settings
from musicgpt_gui.core.jobs import CancelToken, JobError, Progress
from musicgpt_gui.core.midi.midi_ports import (
    APIS,
    CHOICE_FILE,
    INPUT_CHOICE_FILE,
    VIRTUAL_INPUT,
    PortChoice,
    default_api,
    list_input_ports,
    load_choice,
    open_output,
    save_choice,
)
from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.core.workspace import Workspace


def register(sub: argparse._SubParsersAction) -> None:
    from musicgpt_gui.core.live.jam import JamSettings
    from musicgpt_gui.core.model.sample.generation import GenerationSettings

    jam, sampling = JamSettings(), GenerationSettings()
    parser = sub.add_parser(
        "jam",
        help="call and response: play a phrase into a MIDI input, the model answers on a MIDI output",
        description="After a bar of silence the model continues your phrase for --bars bars on the output port, "
        "in tempo, then listens again. Ctrl-C stops; --export keeps every exchange as one MIDI file. "
        "Ports given once are remembered in the workspace.",
    )
    parser.add_argument("--run", required=True, help="the trained run (checkpoint/<run>)")
    parser.add_argument("--checkpoint", choices=checkpoints.CHECKPOINT_CHOICES, default="latest")
    parser.add_argument("--api", choices=list(APIS), help=f"MIDI system (usual here: {default_api()})")
    parser.add_argument("--in", dest="in_port", metavar="PORT",
                        help=f"input port (name or a unique part of it); 'virtual' opens musicgpt:{VIRTUAL_INPUT}, "
                        "'virtual:NAME' musicgpt:NAME")
    parser.add_argument("--out", dest="out_port", metavar="PORT", help="output port (name or a unique part of it)")
    parser.add_argument("--list-ports", action="store_true", help="list the API's input ports and exit")
    parser.add_argument("--tempo", type=positive_float, default=jam.tempo, help="beats (quarters) per minute")
    parser.add_argument("--meter", default="4/4", help="time signature, like 4/4 or 3/4")
    parser.add_argument("--bars", type=int, default=jam.bars, help="length of each answer in bars")
    parser.add_argument("--gap-bars", type=positive_float, default=jam.gap_bars,
                        help="bars of silence that end a phrase")
    parser.add_argument("--end-key", type=midi_note, metavar="NOTE",
                        help="a key (like C2, or a MIDI note number) that ends the phrase at once; it is not recorded")
    parser.add_argument("--end-pedal", type=int, metavar="CC",
                        help="a pedal (controller number, e.g. 67 for the soft pedal) that ends the phrase at once")
    parser.add_argument("--click", action="store_true", help="count in and click a metronome on the output")
    parser.add_argument("--clock", action="store_true",
                        help="send MIDI clock and start/stop on the output, so a DAW follows the jam's tempo")
    parser.add_argument("--exchanges", type=int, metavar="N", help="stop after N exchanges (default: until Ctrl-C)")
    parser.add_argument("--temperature", type=float, default=sampling.temperature, help="0: greedy")
    parser.add_argument("--top-k", type=int, default=sampling.top_k, help="0: off")
    parser.add_argument("--top-p", type=float, default=sampling.top_p, help="0: off; wins over --top-k")
    parser.add_argument("--seed", type=int, help="seed of the first answer (default: a fresh one per answer)")
    parser.add_argument("--export", type=Path, metavar="FILE.mid", help="write every exchange as one MIDI file")
    parser.add_argument("--no-decode-ahead", dest="decode_ahead", action="store_false",
                        help="decode each answer only once its phrase has ended (by default it is decoded during "
                        "the gap and dropped if the phrase goes on)")
    add_steering_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, workspace: Workspace) -> int:
    from musicgpt_gui.core.live.jam import JamSettings, jam
    from musicgpt_gui.core.live.metronome import meter_of
    from musicgpt_gui.core.live.recording import Recording, SharedPort
    from musicgpt_gui.core.model.sample.generation import GenerationSettings, Generator

    saved_in = load_choice(workspace.root / INPUT_CHOICE_FILE)
    saved_out = load_choice(workspace.root / CHOICE_FILE)
    api = args.api or (saved_in.api if saved_in else default_api())
    if args.list_ports:
        names = list_input_ports(api)
        print("\n".join(names) if names else f"(no MIDI input device on {api}; use --in virtual)")
        return 0
    try:
        meter = meter_of(args.meter)
    except ValueError as exc:
        raise JobError(f"--meter: {exc}.") from None
    settings = JamSettings(args.tempo, meter, args.bars, args.gap_bars, end_key=args.end_key,
                           end_pedal=args.end_pedal, decode_ahead=args.decode_ahead).validate()
    sampling = GenerationSettings(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                                  seed=args.seed, steering=steering_settings(args)).validate()
    ref = checkpoints.resolve_checkpoint(checkpoints.run_folder(workspace, args.run), args.checkpoint)
    in_choice = _input_choice(args.in_port, api, saved_in)
    out_choice = PortChoice(api, port=args.out_port) if args.out_port else (
        saved_out if saved_out and saved_out.api == api else PortChoice(api))
    port = open_output(out_choice)
    output = SharedPort(port)  # the answers, and the clicks with --click
    listen = None
    try:
        listen = Recording(in_choice, settings.tempo, settings.meter, click_port=output if args.click else None,
                           clock_port=output if args.clock else None)
        save_choice(workspace.root / INPUT_CHOICE_FILE, in_choice)
        save_choice(workspace.root / CHOICE_FILE, out_choice if out_choice.virtual else PortChoice(api, port=port.name))
        print(f"listening on {listen.port_name}, answering on {port.name} ({api}); Ctrl-C stops", file=sys.stderr)
        result = _run_until_interrupted(lambda cancel: jam(
            Generator(), ref, listen, output, settings, sampling, exchanges=args.exchanges,
            on_exchange=_print_exchange, on_progress=_print_progress, cancel=cancel))
    finally:
        if listen is not None:
            listen.close()
        port.close()
    if args.export:
        print(f"wrote {result.export(args.export)} ({len(result.exchanges)} exchanges)", file=sys.stderr)
    return 0


def midi_note(text: str) -> int:
    """A MIDI note number or a note name (C2, F#3)."""
    from musicgpt_gui.core.music.notation import name_to_midi

    number = int(text) if text.isdigit() else name_to_midi(text)
    if number is None or not 0 <= number <= 127:
        raise argparse.ArgumentTypeError(f"{text!r} is not a note (like C2) or a MIDI note number 0..127")
    return number


def _input_choice(wanted, api: str, saved) -> PortChoice:
    if wanted and (wanted == "virtual" or wanted.startswith("virtual:")):
        return PortChoice(api, virtual=wanted.partition(":")[2] or VIRTUAL_INPUT)
    if wanted:
        return PortChoice(api, port=wanted)
    return saved if saved and saved.api == api else PortChoice(api)


def _run_until_interrupted(job):
    """Run ``job(cancel)`` on a thread, so Ctrl-C on the main thread cancels it and its result is kept."""
    cancel, box = CancelToken(), {}

    def target() -> None:
        try:
            box["result"] = job(cancel)
        except BaseException as exc:  # handed to the main thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="jam", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.2)
    except KeyboardInterrupt:
        cancel.cancel()
        thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


def _print_exchange(exchange) -> None:
    latency = "no notes" if exchange.latency is None else f"first note after {exchange.latency * 1000:.0f} ms"
    print(f"call:   {exchange.call}\nanswer: {exchange.answer}  ({latency}, seed {exchange.seed})", file=sys.stderr)


def _print_progress(progress: Progress) -> None:
    if progress.message:
        print(progress.message, file=sys.stderr)
