"""Playback timing through a real JACK MIDI loopback, against mido's own ``MidiFile.play()``.

    python bench/bench_playback.py [--bars N] [--rounds N] [--period FRAMES] [--no-realtime] [--results FILE]

Starts a private JACK server (``jackd -n <name> -R -d dummy -r 48000 -p FRAMES``: real-time as
JACK runs by default, ``--no-realtime`` as in CI; a running server is left alone), opens a JACK
MIDI input port with rtmidi in a separate process, connects our output port to it and plays a
piece of dense sixteenth notes (three voices, 120 bpm) in alternating rounds: through
our :class:`Player`, then through the baseline loop ``for m in midi.play(): port.send(m)``.
For every message it prints the error of the *received* time against its schedule (median,
p99, max, in ms) and, for ours, the error at ``send()`` (the scheduler alone).  Received times
include JACK's delivery, which happens once per period (FRAMES / 48000 s).
Goal: p99 of received messages < 5 ms.  No assertion: the numbers are read off the report.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

RATE = 48000


def dense_piece(bars: int) -> str:
    """Sixteenths in three voices: an arpeggio over a moving two-note chord."""
    from musicgpt_gui.core.music.notation import midi_to_name

    items = ["tempo=120"]
    for step in range(bars * 16):
        top = 72 + (step * 5) % 12
        chord = [48 + (step // 4) % 7, 55 + (step // 4) % 5, top]
        items.append(" ".join(midi_to_name(p) for p in chord) + ":0.25")
    return ", ".join(items)


def start_jack(name: str, period: int, realtime: bool) -> subprocess.Popen:
    log = tempfile.TemporaryFile(mode="w+")  # jackd logs every xrun; a pipe would fill up
    mode = "--realtime" if realtime else "--no-realtime"
    cmd = ["jackd", "-n", name, mode, "-d", "dummy", "-r", str(RATE), "-p", str(period)]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    probe = [sys.executable, "-c", "import rtmidi; rtmidi.MidiOut(rtmidi.API_UNIX_JACK).get_ports()"]
    deadline = time.monotonic() + 20
    while subprocess.run(probe, capture_output=True).returncode != 0:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.seek(0)
            sys.exit(f"bench: could not start {' '.join(cmd)}: {log.read()[-500:]}")
        time.sleep(0.2)
    return proc


RECEIVER = """
import json, sys, time, rtmidi
stamps = []
midi_in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, "bench")
midi_in.open_virtual_port("in")
midi_in.set_callback(lambda event, _d: stamps.append((time.monotonic(), event[0])))
print("ready", flush=True)
sys.stdin.read()
midi_in.cancel_callback()
print(json.dumps(stamps))
"""


class Receiver:
    """A separate process (as a synth would be) with a JACK MIDI input port 'bench:in'.

    It stamps each message with time.monotonic() on arrival (CLOCK_MONOTONIC, shared by all
    processes on Linux), so the player and the receiver never compete for one GIL.
    """

    def __init__(self) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-c", RECEIVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        if self._proc.stdout.readline().strip() != "ready":
            sys.exit("bench: the JACK MIDI receiver did not start")

    def collect(self) -> list[tuple[float, tuple[int, ...]]]:
        """Stop listening and return (arrival time, message bytes) in arrival order."""
        out, _ = self._proc.communicate("", timeout=60)
        return [(stamp, tuple(data)) for stamp, data in json.loads(out)]


class StampingPort:
    """Forwards to the real port and records when each message left the scheduler."""

    def __init__(self, port, stamps: list[float]) -> None:
        self.port = port
        self.stamps = stamps

    def send(self, msg) -> None:
        self.stamps.append(time.monotonic())
        self.port.send(msg)


def match(received, schedule, start: float):
    """Pair each received message with the unused scheduled one of the same bytes nearest in time.

    Content alone is ambiguous (held voices repeat every sixteenth), and pairing by position
    would shift everything after a lost message.  Returns (errors in ms, count never received).
    """
    by_data: dict[tuple[int, ...], list[float]] = {}
    for due, data in schedule:
        by_data.setdefault(data, []).append(start + due)
    errors = []
    for stamp, data in received:
        candidates = by_data.get(data)
        if not candidates:
            continue
        nearest = min(range(len(candidates)), key=lambda k: abs(candidates[k] - stamp))
        errors.append((stamp - candidates.pop(nearest)) * 1000)
    return errors, len(schedule) - len(errors)


def p99(errors: list[float]) -> float:
    ordered = sorted(errors)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def summary(label: str, errors: list[float]) -> str:
    return (
        f"{label:<34} n={len(errors):4d}  median {statistics.median(errors):6.2f} ms  "
        f"p99 {p99(errors):6.2f} ms  max {max(errors):6.2f} ms"
    )


def run_pass(play: Callable[[object], float]) -> tuple[float, list[tuple[float, tuple[int, ...]]]]:
    """One playback into a fresh receiver; ``play`` returns its start time; returns it and what arrived."""
    from musicgpt_gui.core.midi.midi_ports import PortChoice, open_output

    receiver = Receiver()
    port = open_output(PortChoice("jack", port="bench:in"))
    try:
        start = play(port)
        time.sleep(0.2)  # the last messages are delivered one JACK period later
    finally:
        port.close()
    return start, receiver.collect()


class Tally:
    """Pooled errors (ms) and losses of one player over all rounds."""

    def __init__(self) -> None:
        self.received: list[float] = []
        self.sent: list[float] = []
        self.lost = 0
        self.total = 0

    def add(self, start: float, received, schedule, sent: list[float] | None = None) -> str:
        errors, lost = match(received, schedule, start)
        self.received += errors
        if sent is not None:
            self.sent += [(got - (start + due)) * 1000 for got, (due, _) in zip(sent, schedule)]
        self.lost += lost
        self.total += len(schedule)
        return f"p99 {p99(errors):6.2f} ms, lost {lost}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=4, help="4/4 bars of sixteenths per pass (default 4: 8 s)")
    parser.add_argument("--rounds", type=int, default=3, help="passes of each player, alternating (default 3)")
    parser.add_argument("--period", type=int, default=128, help="JACK period in frames at 48 kHz (default 128)")
    parser.add_argument(
        "--no-realtime", action="store_true", help="run jackd without real-time scheduling, as .ci/run does"
    )
    parser.add_argument("--results", type=Path, help="also write the report here")
    args = parser.parse_args()

    name = f"musicgpt-bench-{os.getpid()}"
    os.environ["JACK_DEFAULT_SERVER"] = name  # our clients talk to the private server only
    os.environ["JACK_NO_START_SERVER"] = "1"
    load_before = os.getloadavg()
    jack = start_jack(name, args.period, realtime=not args.no_realtime)
    ours_tally, base_tally, rounds = Tally(), Tally(), []
    try:
        from musicgpt_gui.core.midi.midi_io import render_midi
        from musicgpt_gui.core.midi.playback import Player

        midi = render_midi(dense_piece(args.bars))
        gc.freeze()  # as `musicgpt play` does: a full collection then skips everything loaded so far
        schedule, now = [], 0.0
        for msg in midi:
            now += msg.time
            if not msg.is_meta:
                schedule.append((now, tuple(msg.bytes())))

        def ours(port) -> float:
            player = Player(StampingPort(port, sent))
            player.load(midi)
            start = time.monotonic()
            player.play()
            player.wait()
            return start

        def baseline(port) -> float:
            start = time.monotonic()
            for msg in midi.play():
                port.send(msg)
            return start

        for round_no in range(1, args.rounds + 1):
            sent: list[float] = []
            start, received = run_pass(ours)
            ours_line = ours_tally.add(start, received, schedule, sent)
            start, received = run_pass(baseline)
            base_line = base_tally.add(start, received, schedule)
            rounds.append(f"round {round_no}: ours {ours_line}; baseline {base_line}")
    finally:
        jack.terminate()
        jack.wait()

    load_after = os.getloadavg()
    lines = [
        f"# bench_playback  {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}  {platform.platform()}  "
        f"python {platform.python_version()}  cpus {os.cpu_count()}  "
        f"load avg (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after",
        f"piece: {args.bars} bars of sixteenths in 3 voices at 120 bpm, {len(schedule)} messages, "
        f"{midi.length:.1f} s; {args.rounds} rounds, ours then baseline in each",
        f"JACK: private dummy server ({'--no-realtime' if args.no_realtime else '--realtime'}), {RATE} Hz, "
        f"period {args.period} frames = "
        f"{args.period / RATE * 1000:.2f} ms (received times are quantised to it)",
        *rounds,
        summary("ours: at send() (scheduler)", ours_tally.sent),
        summary("ours: received on JACK input", ours_tally.received),
        summary("baseline mido play(): received", base_tally.received),
        f"lost in JACK: ours {ours_tally.lost}/{ours_tally.total}, baseline {base_tally.lost}/{base_tally.total}",
        f"p99 ratio baseline/ours (received): {p99(base_tally.received) / p99(ours_tally.received):.2f}x",
        f"goal p99 < 5 ms (received, ours): {'met' if p99(ours_tally.received) < 5 else 'NOT met'}",
    ]
    report = "\n".join(lines)
    print(report)
    if args.results:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(report + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
