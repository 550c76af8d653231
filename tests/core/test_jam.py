"""Call and response end to end over a real JACK server, with the tiny trained run: a test keyboard
plays a phrase into the app's input; after a bar of silence the answer arrives on the output port,
its onsets on the tempo map; the exchange exports as one MIDI file with provenance."""

from __future__ import annotations

import threading
import time
import uuid
from fractions import Fraction
from pathlib import Path

import mido
import pytest
import rtmidi

from musicgpt_gui.core.live.jam import JamSettings, jam
from musicgpt_gui.core.live.recording import Recording
from musicgpt_gui.core.midi.midi_io import provenance_of
from musicgpt_gui.core.midi.midi_ports import PortChoice, open_output
from musicgpt_gui.core.model.sample.generation import GenerationSettings, Generator
from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.core.music.notation import parse_text
from tests.core.live_helpers import PHRASE, Keyboard, phrase_events

pytestmark = [pytest.mark.jack, pytest.mark.usefixtures("jack_server")]

TEMPO = 100
BEAT = 60 / TEMPO
CALL = "Piano, tempo=100, meter.TimeSignature 4/4, C4:1.0, E4:0.25, rest:0.25, G4:0.5, C4 E4 G4:1.0"
SCHEDULE_TOLERANCE = 0.005  # seconds: the bound on the answer's onsets
JACK_PERIOD = 256 / 48000  # the test server's period: JACK delivers MIDI once per period
# As received, JACK (run without real-time priority here) adds its period at either end and the load of a
# shared machine more; a gross error (all at once, the wrong tempo) is still caught.  The delivered timing
# is measured by bench/bench_jam.py.
RECEIVED_TOLERANCE = 2 * JACK_PERIOD + 0.02


class Probe:
    """A JACK MIDI input standing for the synth on the jam's output: it keeps (arrival, message)."""

    def __init__(self) -> None:
        self.client = f"synth-{uuid.uuid4().hex[:6]}"
        self.heard: list[tuple[float, mido.Message]] = []
        self._in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, self.client)
        self._in.open_virtual_port("in")
        self._in.set_callback(self._receive)

    def _receive(self, event, _data) -> None:
        self.heard.append((time.monotonic(), mido.Message.from_bytes(event[0])))

    def close(self) -> None:
        self._in.close_port()


def test_jam_answers_in_tempo_on_the_output_and_exports(melody_run, tmp_path: Path):
    ref = checkpoints.resolve_checkpoint(melody_run[1])
    probe = Probe()
    name = f"jam-{uuid.uuid4().hex[:6]}"
    listen = Recording(PortChoice("jack", virtual=name), TEMPO, (4, 4))
    output = open_output(PortChoice("jack", port=f"{probe.client}:in"))
    sent: list[tuple[float, mido.Message]] = []
    box: dict = {}
    generator = Generator()
    settings = JamSettings(tempo=TEMPO, bars=1, count_in_bars=1)
    sampling = GenerationSettings(temperature=1.0, top_k=0, seed=3)

    def run() -> None:
        box["result"] = jam(generator, ref, listen, output, settings, sampling, exchanges=1,
                            on_send=lambda when, msg: sent.append((when, msg)))

    thread, keys, origin = _start_jam(run, name, listen)
    try:
        keys.play([e for e in phrase_events(origin, BEAT, lambda: 0.0) if e[1][1] != 74])
        thread.join(60)
        assert not thread.is_alive()
    finally:
        _hang_up(keys, listen, output, probe, generator)

    result = box["result"]
    (exchange,) = result.exchanges
    assert exchange.call == CALL
    answer = parse_text(exchange.answer)
    expected = [n for n in answer.notes if n.onset < settings.bar_quarters]
    ons = [(t, m) for t, m in sent if m.type == "note_on"]
    assert expected and [m.note for _, m in ons] == [n.pitch for n in expected], (exchange.answer, ons)
    assert exchange.first_note == ons[0][0] and 0 <= exchange.latency < 5.0
    first = expected[0].onset
    for (when, _), note in zip(ons, expected):
        assert abs((when - ons[0][0]) - float(note.onset - first) * BEAT) < SCHEDULE_TOLERANCE
    heard = [(t, m) for t, m in probe.heard if m.type == "note_on" and m.velocity > 0]
    assert [m.note for _, m in heard] == [m.note for _, m in ons]
    for (when, _), note in zip(heard, expected):
        assert abs((when - heard[0][0]) - float(note.onset - first) * BEAT) < RECEIVED_TOLERANCE

    path = result.export(tmp_path / "jam.mid")
    provenance = provenance_of(mido.MidiFile(path))
    assert provenance["run"] == "melody" and provenance["calls"] == [CALL]
    assert provenance["jam"]["bars"] == 1 and provenance["seeds"] == [exchange.seed]
    assert parse_text(result.text()).length >= Fraction(4 + 4)  # call (one bar), the silent bar, the answer
    assert len(PHRASE) == 7


def test_cli_jam_answers_and_exports(melody_run, tmp_path: Path):
    """`musicgpt jam --run R --in PORT --out PORT`: one exchange, then the export, with the ports remembered;
    steering applies to the answer as to generate (--range C5:E5 where the melodies run C4..C5: an answer of the
    free model would leave it) and the provenance records it."""
    import subprocess
    import sys

    workspace, run_dir = melody_run
    probe = Probe()
    name = f"cli-{uuid.uuid4().hex[:6]}"
    out = tmp_path / "jam.mid"
    cmd = [sys.executable, "-m", "musicgpt_gui.cli", "--workspace", str(workspace.root), "jam", "--run", run_dir.name,
           "--api", "jack", "--in", f"virtual:{name}", "--out", f"{probe.client}:in", "--bars", "1",
           "--exchanges", "1", "--seed", "3", "--export", str(out), "--range", "C5:E5"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    keys = None
    try:
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if line.startswith(f"listening on {name}") and not line.startswith(f"listening on {name},"):
                break
        else:
            pytest.fail("".join(lines))
        keys = Keyboard(name)
        keys.play([e for e in phrase_events(time.monotonic() + 0.2, BEAT, lambda: 0.0) if e[1][1] != 74])
        rest = proc.communicate(timeout=120)[1]
    finally:
        if keys is not None:
            keys.close()
        if proc.poll() is None:
            proc.kill()
        probe.close()
    assert proc.returncode == 0, "".join(lines) + rest
    assert f"call:   {CALL}" in rest and "first note after" in rest
    provenance = provenance_of(mido.MidiFile(out))
    assert provenance["calls"] == [CALL] and provenance["settings"]["steering"]["low"] == 72
    answer = parse_text(rest.split("answer: ", 1)[1].split("  (", 1)[0])
    assert answer.notes and all(72 <= n.pitch <= 76 for n in answer.notes), answer.text
    assert any(m.type == "note_on" for _, m in probe.heard)
    assert (workspace.root / "midi-input.json").exists()


def test_an_answer_decoded_ahead_is_dropped_when_the_phrase_goes_on_and_answers_the_whole_phrase(melody_run):
    """Decoding ahead (the default) over JACK.  Exchange 1: a rest inside the phrase, longer than half the gap,
    starts an answer to the phrase so far; the next note drops it (nothing of it is sent) and the answer is
    decoded again from the whole phrase, during the gap.  Exchange 2: a key whose note-off is lost starts no
    decoding while it sounds (decoding then would take the CPU from the MIDI input); the phrase still ends a gap
    after it, the key closed there, and the answer is decoded from there."""
    ref = checkpoints.resolve_checkpoint(melody_run[1])
    probe = Probe()
    name = f"ahead-{uuid.uuid4().hex[:6]}"
    listen = Recording(PortChoice("jack", virtual=name), TEMPO, (4, 4))
    output = open_output(PortChoice("jack", port=f"{probe.client}:in"))
    sent: list[tuple[float, mido.Message]] = []
    begun: list[float] = []
    answered = threading.Semaphore(0)
    box: dict = {}
    generator = Generator()
    settings = JamSettings(tempo=TEMPO, bars=1, count_in_bars=1)
    assert settings.decode_ahead
    sampling = GenerationSettings(temperature=1.0, top_k=0, seed=3)

    def run() -> None:
        box["result"] = jam(generator, ref, listen, output, settings, sampling, exchanges=2,
                            on_send=lambda when, msg: sent.append((when, msg)),
                            on_exchange=lambda _e: answered.release(),
                            on_progress=lambda p: begun.append(time.monotonic()) if p.message == "answering" else None)

    thread, keys, origin = _start_jam(run, name, listen)
    try:
        # C4 for 0.9 beat, a rest of 2.6 beats (1.56 s: more than half the 2.4 s gap), E4 for a beat
        keys.play([(origin, [0x90, 60, 96]), (origin + 0.9 * BEAT, [0x80, 60, 0]),
                   (origin + 3.5 * BEAT, [0x90, 64, 96]), (origin + 4.5 * BEAT, [0x80, 64, 0])])
        assert answered.acquire(timeout=60)
        keys.play([(time.monotonic() + 0.1, [0x90, 67, 96])])  # G4, never released
        thread.join(60)
        assert not thread.is_alive()
    finally:
        _hang_up(keys, listen, output, probe, generator)

    first, second = box["result"].exchanges
    assert len([t for t in begun if t < first.phrase_end]) == 2  # to C4 alone (dropped), to the whole phrase
    call = parse_text(first.call)
    assert [(n.pitch, n.onset, n.duration) for n in call.notes] == [(60, 0, Fraction(11, 12)), (64, Fraction(7, 2), 1)]
    assert first.decoding < first.phrase_end  # the answer played was decoded during the gap
    ons = [when for when, msg in sent if msg.type == "note_on"]
    assert ons and first.start >= first.phrase_end and min(ons) >= first.phrase_end  # the dropped one sent nothing

    call = parse_text(second.call)
    assert [(n.pitch, n.duration) for n in call.notes] == [(67, settings.bar_quarters)]  # closed at the phrase's end
    assert len([t for t in begun if first.phrase_end < t]) == 1 and second.decoding >= second.phrase_end


def _start_jam(run, name: str, listen) -> tuple[threading.Thread, Keyboard, float]:
    """The jam running in a thread, a keyboard on its input, and the time its recording began (waited for)."""
    thread = threading.Thread(target=run)
    thread.start()
    keys = Keyboard(name)
    deadline = time.monotonic() + 120
    while not listen.recorder.recording and time.monotonic() < deadline:
        time.sleep(0.01)
    return thread, keys, listen.recorder.origin


def _hang_up(keys, listen, output, probe, generator) -> None:
    """Close inputs first, then the output once its last events are out, then the model."""
    keys.close()
    listen.close()
    time.sleep(0.2)
    output.close()
    probe.close()
    generator.close()
