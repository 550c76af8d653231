"""Recording from a MIDI keyboard over a real JACK server: a test keyboard plays a known phrase, with
jitter, into the app's own virtual input; the recorded prefix is the phrase on the dataset's grid,
written by the import's own reader and renderer, and the note held across the stop is closed."""

from __future__ import annotations

import random
import time
import uuid
from pathlib import Path

import mido
import pytest

from musicgpt_gui.core.dataset.convert import convert_task
from musicgpt_gui.core.dataset.import_options import ImportOptions
from musicgpt_gui.core.dataset.sources import Task
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.live.recorder import RecordedNote, Recorder, Take
from musicgpt_gui.core.live.take_text import take_midi, take_text
from musicgpt_gui.core.midi.midi_ports import MidiUnavailable, PortChoice, find_port, list_input_ports, open_input
from tests.core.live_helpers import PHRASE, PHRASE_TEXT, STOP_AT, Keyboard, phrase_events

TEMPO = 100
BEAT = 60 / TEMPO
JITTER = 0.008  # seconds either way: well inside half a 1/12-quarter step (25 ms at 100 bpm)


def record_phrase(options: ImportOptions, jitter: float = JITTER, seed: int = 7) -> tuple[Take, str]:
    heard: list[RecordedNote] = []
    recorder = Recorder(TEMPO, (4, 4), on_note=heard.append)
    name = f"rec-{uuid.uuid4().hex[:6]}"
    port = open_input(PortChoice("jack", virtual=name), recorder.feed)
    keys = Keyboard(name)
    try:
        rng = random.Random(seed)
        origin = time.monotonic() + 0.3
        recorder.start(origin)
        keys.play(phrase_events(origin, BEAT, lambda: rng.uniform(-jitter, jitter)))
        time.sleep(max(0.0, origin + STOP_AT * BEAT - time.monotonic()))
        take = recorder.stop()
    finally:
        keys.close()
        port.close()
    assert sum(1 for n in heard if n.end is None) == len(PHRASE)  # every note-on reached the listener at once
    return take, take_text(take, options)


@pytest.mark.jack
@pytest.mark.usefixtures("jack_server")
def test_recorded_phrase_is_the_phrase_on_the_grid_and_the_held_note_closes(tmp_path: Path):
    options = ImportOptions(grid=12)
    take, text = record_phrase(options)
    assert text == PHRASE_TEXT
    held = [n for n in take.notes if n.pitch == 74]
    assert len(held) == 1 and held[0].end == pytest.approx(STOP_AT * BEAT, abs=0.05)

    # The same phrase written exactly, imported by `musicgpt import`'s own conversion, is the same text.
    exact = Take([RecordedNote(o * BEAT, (o + (ln if ln is not None else STOP_AT - o)) * BEAT, p, 96)
                  for o, ln, p in PHRASE], TEMPO)
    path = tmp_path / "phrase.mid"
    take_midi(exact).save(path)
    imported = convert_task(Task("midi", str(path), path.name), options)
    assert imported.pieces[0].texts[0] == text


@pytest.mark.jack
@pytest.mark.usefixtures("jack_server")
def test_recording_keeps_velocity_as_the_dataset_bins_it():
    _, text = record_phrase(ImportOptions(grid=24, velocity_bins=8))
    assert text.startswith("Piano, tempo=100, meter.TimeSignature 4/4, velocity=104, C4:1.0")


def test_a_take_without_notes_is_one_clear_line():
    with pytest.raises(JobError, match="Nothing was recorded"):
        take_text(Take([], TEMPO))


def test_recorder_closes_held_and_pedalled_notes_and_restrikes_a_sounding_key():
    now = [0.0]
    recorder = Recorder(TEMPO, clock=lambda: now[0])
    recorder.start(0.0)

    def at(t: float, msg: mido.Message) -> None:
        now[0] = t
        recorder.feed(msg)

    at(0.0, mido.Message("control_change", control=64, value=127))
    at(0.1, mido.Message("note_on", note=60, velocity=90))
    at(0.3, mido.Message("note_off", note=60))  # held on by the pedal
    at(0.5, mido.Message("note_on", note=62, velocity=90))
    at(0.6, mido.Message("note_on", note=62, velocity=70))  # struck again: the first ends here
    at(0.9, mido.Message("control_change", control=64, value=0))  # 60 ends here; 62 is still pressed
    assert recorder.sounding() == 1
    take = recorder.stop(1.2)
    assert [(n.pitch, n.onset, n.end, n.velocity) for n in take.notes] == [
        (60, 0.1, 0.9, 90), (62, 0.5, 0.6, 90), (62, 0.6, 1.2, 70)]


def test_no_input_device_is_one_line():
    with pytest.raises(MidiUnavailable) as caught:
        find_port(None, [], "jack", direction="input")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("No MIDI input device on jack")


@pytest.mark.jack
@pytest.mark.usefixtures("jack_server")
def test_input_ports_list_other_clients_outputs():
    keys = Keyboard.__new__(Keyboard)
    import rtmidi

    keys.out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, f"board-{uuid.uuid4().hex[:6]}")
    keys.out.open_virtual_port("out")
    try:
        names = list_input_ports("jack")
        assert any(name.startswith("board-") and name.endswith(":out") for name in names), names
    finally:
        keys.out.close_port()


def test_the_end_key_and_pedal_end_a_phrase_and_are_not_recorded():
    now = [0.0]
    recorder = Recorder(TEMPO, clock=lambda: now[0])
    recorder.end_key, recorder.end_pedal = 36, 67
    recorder.start(0.0)
    for t, msg in [(0.1, mido.Message("note_on", note=60, velocity=90)), (0.4, mido.Message("note_on", note=36)),
                   (0.5, mido.Message("note_off", note=36))]:
        now[0] = t
        recorder.feed(msg)
    assert recorder.take_end() == 0.4 and recorder.take_end() is None
    take = recorder.cut(at=0.4)
    assert [(n.pitch, n.onset, n.end) for n in take.notes] == [(60, 0.1, 0.4)]  # the key is not in the take
    now[0] = 0.7
    recorder.feed(mido.Message("control_change", control=67, value=0))  # released: nothing
    assert recorder.take_end() is None
    recorder.feed(mido.Message("control_change", control=67, value=127))
    assert recorder.take_end() == 0.7


def test_the_revision_grows_with_what_changes_a_take_only():
    """What an answer decoded ahead checks before it may play: a note, a release, the sustain pedal or a program
    change is a new phrase; the end key, the end pedal and other controllers (a mod wheel) are not."""
    recorder = Recorder(TEMPO, clock=lambda: 0.0)
    recorder.end_key, recorder.end_pedal = 36, 67
    recorder.start(0.0)
    seen = recorder.revision()
    for msg in [mido.Message("control_change", control=1, value=90), mido.Message("note_on", note=36, velocity=90),
                mido.Message("control_change", control=67, value=127), mido.Message("pitchwheel", pitch=300)]:
        recorder.feed(msg)
        assert recorder.revision() == seen, msg
    for msg in [mido.Message("note_on", note=60, velocity=90), mido.Message("note_off", note=60),
                mido.Message("control_change", control=64, value=127), mido.Message("program_change", program=5)]:
        recorder.feed(msg)
        assert recorder.revision() > seen, msg
        seen = recorder.revision()
