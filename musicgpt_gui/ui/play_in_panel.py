"""Play it: record a prefix from a MIDI keyboard, or jam (call and response) with the chosen run.

The input arrives on its pump thread (core ``Recorder``); its hooks only emit signals, and the GUI
thread draws the notes on the piano roll as they are played.  The count-in and the metronome click on
the current output (the built-in synth by default).  Stopping turns the take into the prefix in a
job, with the run's dataset's options (the import's own conversion).  The jam runs as the tab's job
and answers on the same output; Stop ends it and keeps its exchanges for Export.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Optional, Protocol

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.live.jam import JamResult, JamSettings, jam
from musicgpt_gui.core.live.metronome import meter_of
from musicgpt_gui.core.live.recorder import RecordedNote, Take
from musicgpt_gui.core.live.recording import DEFAULT_TEMPO, Recording, SharedPort
from musicgpt_gui.core.live.take_text import take_text
from musicgpt_gui.core.midi.midi_ports import BUILTIN_SYNTH
from musicgpt_gui.core.model.store import checkpoints
from musicgpt_gui.core.music.notation import NoteEvent, Parsed
from musicgpt_gui.ui.settings_binder import SettingsBinder
from musicgpt_gui.ui.signals import emit
from musicgpt_gui.ui.widgets.input_picker import InputPicker
from musicgpt_gui.ui.widgets.piano_roll import PianoRoll

METERS = ("4/4", "3/4", "2/4", "6/8", "5/4", "7/8")
LIVE_REDRAW_MS = 33  # held notes grow on the roll at about 30 frames a second


class PlayInHost(Protocol):
    """What the panel needs of the Generate tab."""

    context: object
    prefix: QPlainTextEdit
    roll: PianoRoll
    generator: object

    slot: object

    def start_job(self, fn, *args, on_finished, on_cancelled=None, **kwargs): ...
    def write_out(self, what: str, path: Path, write): ...
    def busy(self) -> bool: ...
    def chosen_run(self) -> checkpoints.CheckpointRef: ...
    def settings(self): ...
    def display(self, text: str) -> None: ...


class LiveSignals(QObject):
    """The recorder's and metronome's hooks (input and metronome threads) as queued signals."""

    note = Signal(object)  # RecordedNote
    beat = Signal(int, int)  # bar (0 and below: the count-in), beat


def live_parsed(notes: list[RecordedNote], beat_seconds: float, now: float) -> Parsed:
    """Played notes as a :class:`Parsed` for the piano roll: quarters from bar 1; held notes reach ``now``."""
    events = []
    for n in notes:
        end = n.end if n.end is not None else now
        if end <= 0:
            continue
        onset = max(n.onset, 0.0)
        events.append(NoteEvent(Fraction(onset / beat_seconds).limit_denominator(960), n.pitch,
                                Fraction(max(end - onset, 0.01) / beat_seconds).limit_denominator(960), n.velocity))
    length = max((e.onset + e.duration for e in events), default=Fraction(0))
    return Parsed(notes=events, length=length)


class PlayInPanel(QGroupBox):
    def __init__(self, host: PlayInHost, settings: QSettings, parent: Optional[QWidget] = None) -> None:
        super().__init__("Play it (MIDI keyboard)", parent)
        self.host = host
        self.settings_store = settings
        self.recording: Optional[Recording] = None
        self.jam_result: Optional[JamResult] = None
        self._notes: dict[tuple[int, int, float], RecordedNote] = {}
        self._dirty = False
        self.signals = LiveSignals(self)
        self.signals.note.connect(self._on_note)
        self.signals.beat.connect(self._on_beat)
        self.redraw = QTimer(self)
        self.redraw.setInterval(LIVE_REDRAW_MS)
        self.redraw.timeout.connect(self._draw)

        self.picker = InputPicker(settings)
        self.tempo = QSpinBox(minimum=20, maximum=400, value=int(DEFAULT_TEMPO))
        self.tempo.setSuffix(" bpm")
        self.meter = QComboBox()
        self.meter.addItems(METERS)
        self.count_in = QSpinBox(minimum=0, maximum=4, value=1)
        self.count_in.setSuffix(" bar(s)")
        self.answer_bars = QSpinBox(minimum=1, maximum=64, value=JamSettings().bars)
        self.answer_bars.setToolTip("How many bars the model answers with, after a bar of silence ends your phrase")
        self.end_key = QSpinBox(minimum=-1, maximum=127, value=-1)
        self.end_key.setSpecialValueText("none")
        self.end_key.setToolTip("Jam: a key (MIDI note number, 36 = C2) that ends your phrase at once; not recorded")
        self.end_pedal = QSpinBox(minimum=-1, maximum=127, value=-1)
        self.end_pedal.setSpecialValueText("none")
        self.end_pedal.setToolTip("Jam: a pedal (controller number, 67 = soft pedal) that ends your phrase at once")
        self.record_button = QPushButton("Record")
        self.record_button.setToolTip("Count in, then record what you play as the prefix; click again to stop")
        self.jam_button = QPushButton("Jam")
        self.jam_button.setToolTip("Call and response: play a phrase, stop for a bar, the model answers; Stop ends")
        self.export_jam_button = QPushButton("Export jam…")
        self.export_jam_button.setEnabled(False)
        self.status = QLabel("")
        self.status.setProperty("role", "hint")

        form = QFormLayout()
        form.addRow("Tempo", self.tempo)
        form.addRow("Meter", self.meter)
        form.addRow("Count-in", self.count_in)
        form.addRow("Answer", self.answer_bars)
        ends = QHBoxLayout()
        ends.addWidget(QLabel("key"))
        ends.addWidget(self.end_key)
        ends.addWidget(QLabel("pedal"))
        ends.addWidget(self.end_pedal)
        form.addRow("Phrase ends by", ends)
        self.answer_bars.setSuffix(" bar(s)")
        buttons = QHBoxLayout()
        for b in (self.record_button, self.jam_button, self.export_jam_button):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addWidget(self.picker)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.status)
        self.record_button.clicked.connect(self.toggle_recording)
        self.jam_button.clicked.connect(self.toggle_jam)
        self.export_jam_button.clicked.connect(self.export_jam)
        self.binder = SettingsBinder("play_in")
        for key in ("tempo", "meter", "count_in", "answer_bars", "end_key", "end_pedal"):
            self.binder.bind(key, getattr(self, key))

    # -- shared ------------------------------------------------------------------------------
    def _meter(self) -> tuple[int, int]:
        return meter_of(self.meter.currentText())

    def _open(self, owner: str) -> tuple[Recording, object]:
        """The input (a missing device raises JobError: one line) and the output, shared by the clicks."""
        self.picker.remember()
        try:
            output = SharedPort(self.host.context.playback.live_output(self))
        except JobError as exc:
            if owner == "jam":
                raise
            self.host.context.say(f"No metronome: {exc}")
            output = None
        self._notes.clear()
        bridge = self.host.context.playback
        clock = output if output is not None and bridge.clock and bridge.choice.api != BUILTIN_SYNTH else None
        recording = Recording(self.picker.choice(), self.tempo.value(), self._meter(), click_port=output,
                              on_note=lambda n: emit(self.signals.note, n),
                              on_beat=lambda bar, beat: emit(self.signals.beat, bar, beat), clock_port=clock)
        return recording, output

    def _on_note(self, note: RecordedNote) -> None:
        self._notes[(note.channel, note.pitch, note.onset)] = note
        self._dirty = True

    def _on_beat(self, bar: int, beat: int) -> None:
        if bar <= 0:
            self.status.setText(f"Count-in: {beat}")
        elif self.recording is not None:
            self.status.setText(f"Recording: bar {bar}, beat {beat}")

    def _draw(self) -> None:
        recording = self.recording
        if recording is None or recording.recorder.origin is None:
            return
        held = any(n.end is None for n in self._notes.values())
        if not (self._dirty or held):
            return
        self._dirty = False
        now = recording.elapsed()
        self.host.roll.set_parsed(live_parsed(list(self._notes.values()), 60.0 / self.tempo.value(), now))

    # -- record ------------------------------------------------------------------------------
    def toggle_recording(self) -> None:
        if self.recording is not None:
            self.stop_recording()
            return
        if self.host.busy():
            self.host.context.say("Generate: a job is already running.")
            return
        try:
            self.recording, _ = self._open("record")
        except JobError as exc:
            self.picker.show_notice(str(exc))
            self.host.context.say(str(exc))
            return
        self.recording.start(self.count_in.value())
        self.host.roll.clear()
        self.record_button.setText("Stop recording")
        self.jam_button.setEnabled(False)
        self.redraw.start()

    def stop_recording(self) -> Optional[Take]:
        recording, self.recording = self.recording, None
        if recording is None:
            return None
        self.redraw.stop()
        take = recording.stop()
        recording.close()
        self.record_button.setText("Record")
        self.jam_button.setEnabled(True)
        self.status.setText(f"Recorded {len(take.notes)} notes; writing the prefix…")
        run_dir = self._run_dir()

        def convert(*, on_progress, cancel) -> str:
            trained_on = checkpoints.training_dataset(run_dir) if run_dir is not None else None
            return take_text(take, dataset_files.conversion_options(trained_on))

        self.host.start_job(convert, on_finished=self._use_prefix)
        return take

    def _use_prefix(self, text: str) -> None:
        self.host.prefix.setPlainText(text)
        self.host.roll.set_text(text)
        self.status.setText("The recording is the prefix: Generate continues it.")

    def _run_dir(self) -> Optional[Path]:
        try:
            return self.host.chosen_run().run_dir
        except JobError:
            return None

    # -- jam ---------------------------------------------------------------------------------
    def toggle_jam(self) -> None:
        if self.recording is not None:
            self.host.slot.cancel()
            return
        try:
            ref = self.host.chosen_run()
            settings = JamSettings(self.tempo.value(), self._meter(), self.answer_bars.value(),
                                   count_in_bars=self.count_in.value(),
                                   end_key=self.end_key.value() if self.end_key.value() >= 0 else None,
                                   end_pedal=self.end_pedal.value() if self.end_pedal.value() >= 0 else None).validate()
            sampling = self.host.settings().validate()
            self.recording, output = self._open("jam")
        except JobError as exc:
            self.picker.show_notice(str(exc))
            self.host.context.say(str(exc))
            return
        recording = self.recording
        self.jam_result = None
        worker = self.host.start_job(jam, self.host.generator, ref, recording, output, settings, sampling,
                                     on_finished=self._jam_ended, on_cancelled=self._jam_ended)
        if worker is None:
            recording.close()
            self.recording = None
            return
        worker.failed.connect(lambda *_: self._jam_ended(None))
        self.jam_button.setText("Stop jam")
        self.record_button.setEnabled(False)
        self.status.setText("Loading the model, then count-in…")
        self.redraw.start()

    def _jam_ended(self, result: Optional[JamResult]) -> None:
        self.redraw.stop()
        if self.recording is not None:
            self.recording.close()
            self.recording = None
        self.jam_button.setText("Jam")
        self.record_button.setEnabled(True)
        self.jam_result = result
        count = len(result.exchanges) if result is not None else 0
        self.export_jam_button.setEnabled(count > 0)
        self.status.setText(f"Jam over: {count} exchange(s).")
        if count:
            self.host.display(result.text())

    def export_jam(self) -> Optional[Path]:
        default = str(self.host.context.workspace.exports / "jam.mid")
        path, _ = QFileDialog.getSaveFileName(self, "Export jam", default, "MIDI files (*.mid)")
        return self.export_jam_to(Path(path)) if path else None

    def export_jam_to(self, path: Path) -> Optional[Path]:
        return self.host.write_out("the jam", path, lambda: self.jam_result.export(path))

    def shutdown(self) -> None:
        self.redraw.stop()
        if self.recording is not None and not self.host.busy():
            self.recording.close()
            self.recording = None
