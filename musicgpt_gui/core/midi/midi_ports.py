"""MIDI output and input ports through python-rtmidi (mido's rtmidi backend), and the remembered choices.

The API is chosen by a short name (alsa, jack, coremidi, winmm).  Where no MIDI system is
reachable (no ``/dev/snd/seq`` for ALSA, no JACK server) opening raises :class:`MidiUnavailable`
with one sentence saying what to install or start, so export and the rest of the app go on.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

import mido

from musicgpt_gui.core.atomic_file import atomic_write_text
from musicgpt_gui.core.jobs import JobError

APIS = {"alsa": "LINUX_ALSA", "jack": "UNIX_JACK", "coremidi": "MACOSX_CORE", "winmm": "WINDOWS_MM"}
BUILTIN_SYNTH = "synth"  # PortChoice.api of the built-in SoundFont synth (core.midi.synth), the default output
CLIENT_NAME = "musicgpt"
CHOICE_FILE = "midi-output.json"
INPUT_CHOICE_FILE = "midi-input.json"
VIRTUAL_INPUT = "in"  # the app's own virtual input port (JACK: musicgpt:in), for a keyboard or a DAW to connect to
ALSA_SEQ = Path("/dev/snd/seq")
# rtmidi returns from jack_connect before the JACK graph carries the connection; events sent in
# the first cycles after that are dropped (seen here with the dummy driver under load).
JACK_CONNECT_SETTLE = 0.1

_HOW_TO_FIX = {
    "alsa": "load the ALSA sequencer ('sudo modprobe snd-seq'), or start JACK ('jackd -d dummy' or your "
    "sound server) and use the jack API (--api jack)",
    "jack": "start a JACK server (for example 'jackd -d dummy', QjackCtl or PipeWire's JACK) or pick "
    "another MIDI API (--api alsa)",
    "coremidi": "check that CoreMIDI is available (Audio MIDI Setup)",
    "winmm": "check that Windows MIDI is available, or install a loopback driver such as loopMIDI",
}


class MidiUnavailable(JobError):
    """No usable MIDI output: the message says what to install, start or connect."""


@dataclass(frozen=True)
class PortChoice:
    """Where playback goes: an existing ``port`` or a ``virtual`` port we create (not both)."""

    api: str
    port: Optional[str] = None
    virtual: Optional[str] = None


def default_api() -> str:
    """The usual MIDI system of this platform."""
    if sys.platform == "darwin":
        return "coremidi"
    if sys.platform.startswith("win"):
        return "winmm"
    return "alsa"


def list_output_ports(api: str) -> list[str]:
    """Names of the output ports the API offers (for JACK: other clients' MIDI inputs)."""
    backend = _backend(api)
    try:
        return list(backend.get_output_names())
    except OSError as exc:  # rtmidi.SystemError is an OSError
        raise _unavailable(api, exc) from exc


def open_output(choice: PortChoice) -> mido.ports.BaseOutput:
    """Open the chosen port; with neither port nor virtual, the API's first output port."""
    backend = _backend(choice.api)
    if choice.virtual:
        if choice.api == "winmm":
            raise MidiUnavailable("WinMM cannot create virtual ports; install loopMIDI and pick its port (--port).")
        try:
            return backend.open_output(choice.virtual, client_name=CLIENT_NAME)
        except OSError as exc:
            raise _unavailable(choice.api, exc) from exc
    name = find_port(choice.port, list_output_ports(choice.api), choice.api)
    try:
        port = backend.open_output(name)
    except OSError as exc:
        raise _unavailable(choice.api, exc) from exc
    if choice.api == "jack":
        time.sleep(JACK_CONNECT_SETTLE)
    return port


def list_input_ports(api: str) -> list[str]:
    """Names of the input ports the API offers: keyboards, other programs' outputs (for JACK: their MIDI outputs)."""
    backend = _backend(api, "input")
    try:
        return list(backend.get_input_names())
    except OSError as exc:
        raise _unavailable(api, exc, "input") from exc


class InputPort:
    """An rtmidi input read by a Python thread, never by a Python callback on rtmidi's (JACK's) thread.

    A callback there needs the GIL inside JACK's process cycle; while another thread holds it (a model
    decoding), the cycle overruns and the server drops that cycle's events -- a lost note-off holds a
    note forever.  Here rtmidi queues the events lock-free and stamps them on its own thread; a pump
    thread hands each to ``callback(msg, when)``, ``when`` on ``time.monotonic``'s clock, from rtmidi's
    own time deltas (anchored at the earliest arrival seen, so a late pump does not move the notes).
    """

    POLL = 0.001  # seconds between looks at rtmidi's queue

    def __init__(self, rt, name: str, callback: Callable[..., None]) -> None:
        self._rt, self.name, self._callback = rt, name, callback
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="midi-input", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        jack_time, anchor = 0.0, None
        while not self._halt.is_set():
            event = self._rt.get_message()
            if event is None:
                self._halt.wait(self.POLL)
                continue
            data, delta = event
            jack_time += delta
            arrived = time.monotonic()
            anchor = arrived - jack_time if anchor is None else min(anchor, arrived - jack_time)
            try:
                msg = mido.Message.from_bytes(data)
            except ValueError:
                continue
            self._callback(msg, anchor + jack_time)

    def close(self) -> None:
        self._halt.set()
        self._thread.join()
        self._rt.close_port()
        del self._rt


def open_input(choice: PortChoice, callback: Callable[..., None]) -> InputPort:
    """Open the chosen input port, or our own virtual input (``choice.virtual``); every message goes to
    ``callback(msg, when)`` on a pump thread (see :class:`InputPort`); with neither, the API's first input."""
    import rtmidi

    _backend(choice.api, "input")
    if choice.virtual and choice.api == "winmm":
        raise MidiUnavailable("WinMM cannot create virtual ports; install loopMIDI and pick its port.")
    try:
        rt = rtmidi.MidiIn(getattr(rtmidi, f"API_{APIS[choice.api]}"), CLIENT_NAME, queue_size_limit=4096)
        rt.ignore_types(sysex=True, timing=True, active_sense=True)
        if choice.virtual:
            rt.open_virtual_port(choice.virtual)
            return InputPort(rt, choice.virtual, callback)
        names = rt.get_ports()
        name = find_port(choice.port, names, choice.api, direction="input")
        rt.open_port(names.index(name))
    except (OSError, rtmidi.RtMidiError) as exc:
        raise _unavailable(choice.api, exc, "input") from exc
    return InputPort(rt, name, callback)


def find_port(wanted: Optional[str], names: list[str], api: str, direction: str = "output") -> str:
    """Exact name, else the one name containing ``wanted`` (case-insensitive); None -> first."""
    if not names and direction == "input":
        raise MidiUnavailable(
            f"No MIDI input device on {api}: plug in a keyboard, or use the app's own virtual input "
            f"({CLIENT_NAME}:{VIRTUAL_INPUT}) and connect a keyboard or a DAW to it."
        )
    if not names:
        raise MidiUnavailable(
            f"No MIDI output ports on {api}: start a synthesizer (for example FluidSynth or Qsynth) "
            "or open a virtual port (--virtual NAME) and connect it."
        )
    if wanted is None:
        return names[0]
    if wanted in names:
        return wanted
    matches = [n for n in names if wanted.lower() in n.lower()]
    if len(matches) == 1:
        return matches[0]
    raise MidiUnavailable(
        f"No single MIDI {direction} port matches {wanted!r} on {api}; available: {', '.join(names)}."
    )


def load_choice(path: Path) -> Optional[PortChoice]:
    """The remembered choice, or None when nothing (or nothing readable) was saved."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        choice = PortChoice(api=data["api"], port=data.get("port"), virtual=data.get("virtual"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return choice if choice.api in APIS or choice.api == BUILTIN_SYNTH else None


def save_choice(path: Path, choice: PortChoice) -> None:
    atomic_write_text(Path(path), json.dumps(asdict(choice), indent=2) + "\n")


def _backend(api: str, direction: str = "output") -> mido.Backend:
    if api not in APIS:
        raise MidiUnavailable(f"Unknown MIDI API {api!r}; choose one of {', '.join(APIS)}.")
    if api == "alsa" and sys.platform.startswith("linux") and not ALSA_SEQ.exists():
        # Checked first: rtmidi would fail too, but only after ALSA prints its own lines to stderr.
        raise _unavailable(api, FileNotFoundError(f"{ALSA_SEQ} is missing"), direction)
    backend = mido.Backend(f"mido.backends.rtmidi/{APIS[api]}", load=True)
    compiled = [short for short, long in APIS.items() if long in backend.module.get_api_names()]
    if api not in compiled:
        raise MidiUnavailable(
            f"This python-rtmidi has no {api} support; available here: {', '.join(compiled) or 'none'}."
        )
    return backend


def _unavailable(api: str, exc: BaseException, direction: str = "output") -> MidiUnavailable:
    reason = str(exc).strip() or type(exc).__name__
    return MidiUnavailable(f"MIDI {direction} through {api} is not available ({reason}): {_HOW_TO_FIX[api]}.")
