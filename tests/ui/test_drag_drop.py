"""Drag and drop with the file manager and the DAW: MIDI files and folders dropped on the Dataset tab,
a MIDI file dropped on the prefix box, a variation (or its selection) dragged out as a .mid with provenance."""

from __future__ import annotations

from pathlib import Path

import mido
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from musicgpt_gui.core.midi.midi_io import export_midi, provenance_of
from musicgpt_gui.core.model.sample import prefixes
from tests.ui.helpers import wait_idle

OPENING = "tempo=100, C4:1.0, E4:1.0, G4:1.0, C5:1.0"


def urls(paths: list[Path]) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def drag_enter(widget, mime: QMimeData) -> bool:
    event = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    event.setAccepted(False)
    widget.dragEnterEvent(event)
    return event.isAccepted()


def drop(widget, mime: QMimeData) -> None:
    widget.dropEvent(QDropEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier))


def test_midi_files_and_folders_dropped_on_the_dataset_tab_become_sources(make_window, workspace, tmp_path):
    folder = tmp_path / "songs"
    folder.mkdir()
    song = export_midi(OPENING, tmp_path / "one.mid")
    tab = make_window(workspace).dataset_tab
    mime = urls([folder, song])
    assert drag_enter(tab, mime)
    drop(tab, mime)
    assert [tab.sources.item(i).text() for i in range(tab.sources.count())] == [str(folder), str(song)]
    assert tab.sources_list() == [str(folder), str(song)]  # what the import gets


def test_a_midi_file_dropped_on_the_prefix_box_gives_its_opening(make_window, workspace, tmp_path, qtbot):
    song = export_midi(OPENING + ", D5:1.0, E5:1.0", tmp_path / "song.mid")
    tab = make_window(workspace).generate_tab
    tab.prefix_items.setValue(3)
    assert drag_enter(tab.prefix, urls([song]))
    drop(tab.prefix, urls([song]))
    wait_idle(qtbot, tab, 60_000)
    assert tab.prefix.toPlainText() == prefixes.midi_prefix(song, 3)
    assert "C4:1.0" in tab.prefix.toPlainText()


def test_a_variation_and_a_selection_drag_out_as_midi_with_provenance(make_window, tiny_run, qtbot):
    tab = make_window(tiny_run.workspace).generate_tab
    tab.refresh()
    tab.run.setCurrentText(tiny_run.run)  # other tests leave more runs in the shared workspace
    tab.prefix.setPlainText(OPENING)
    tab.length.setValue(24)  # room for a note: a take with nothing to play is not offered for dragging
    tab.random_seed.setChecked(False)
    tab.seed.setValue(5)
    tab.generate_button.click()
    wait_idle(qtbot, tab)
    assert tab.results.count() == 1 and tab.result.variations[0].playable
    mime = tab.results.mimeData([tab.results.item(0)])
    (url,) = mime.urls()
    whole = mido.MidiFile(url.toLocalFile())
    provenance = provenance_of(whole)
    assert provenance["run"] == tiny_run.run and provenance["seed"] == 5 and provenance["prefix"].startswith("tempo")
    notes = [m.note for m in whole if m.type == "note_on" and m.velocity]
    assert notes[:4] == [60, 64, 67, 72]

    tab.roll.set_selection((1.0, 3.0))  # a drag on the roll selects beats 1..3: E4 and G4
    part = mido.MidiFile(tab.results.mimeData([tab.results.item(0)]).urls()[0].toLocalFile())
    assert [m.note for m in part if m.type == "note_on" and m.velocity] == [64, 67]
    assert provenance_of(part)["excerpt"] == {"beats": [1.0, 3.0]} and provenance_of(part)["seed"] == 5
