"""Dataset tab, driven like a user: import a few corpus pieces plus a bad file, inspect, play, cancel."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent

from musicgpt_gui.ui.dataset_tab import ERROR_COLOR
from tests.ui.helpers import STALL_LIMIT_MS, Heartbeat, wait_idle


def drop_files(tab, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(
        QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier
    )
    tab.dropEvent(event)


@pytest.mark.stall
def test_import_a_few_chorales_and_a_bad_file(make_window, workspace, qtbot, tmp_path, music_libraries_loaded) -> None:
    window = make_window(workspace)
    tab = window.dataset_tab
    assert tab.corpus.currentData() == "bach"  # the default source
    bad = tmp_path / "empty.mid"
    bad.write_bytes(b"")
    drop_files(tab, [bad])
    assert [tab.sources.item(i).text() for i in range(tab.sources.count())] == [str(bad)]
    tab.corpus.setCurrentIndex(tab.corpus.findData("bach"))
    tab.limit.setValue(4)
    tab.name.setText("bach-ui")
    with Heartbeat() as beat:
        tab.import_button.click()
        assert tab.cancel_button.isEnabled()
        wait_idle(qtbot, tab)
    assert tab.progress.value() == 100, tab.progress_label.text()
    assert "skipped" in tab.progress_label.text()
    assert tab.table.rowCount() == 4
    statuses = [tab.table.item(r, 3).text() for r in range(4)]
    errors = [r for r, s in enumerate(statuses) if s.startswith("error")]
    assert len(errors) == 1 and tab.table.item(errors[0], 0).text() == str(bad)
    assert tab.table.item(errors[0], 3).foreground().color() == ERROR_COLOR
    assert tab.table.item(errors[0], 3).toolTip()  # the reason
    ok_row = next(r for r in range(4) if r not in errors)
    assert int(tab.table.item(ok_row, 1).text()) > 10
    assert "pieces 3" in tab.stats.text()
    assert beat.longest_ms < STALL_LIMIT_MS, f"the event loop stalled {beat.longest_ms:.0f} ms during import"

    tab.table.selectRow(ok_row)
    assert tab.preview.toPlainText().count(",") > 10
    assert tab.roll.parsed is not None and len(tab.roll.parsed.notes) > 10
    tab.play_button.click()  # no audio device here: a clear message, nothing breaks
    assert tab.play_button.last_error.startswith("No audio output device")
    assert tab.play_button.text() == "Play"
    assert window.finetune_tab.dataset.findText("bach-ui") >= 0  # other tabs see the new dataset


def test_cancel_keeps_the_app_usable(make_window, workspace, qtbot) -> None:
    window = make_window(workspace)
    tab = window.dataset_tab
    tab.limit.setValue(40)
    tab.name.setText("bach-cancel")
    tab.import_button.click()
    tab.cancel_button.click()
    wait_idle(qtbot, tab)
    assert tab.progress_label.text().startswith("Import cancelled")
    assert tab.import_button.isEnabled() and not tab.cancel_button.isEnabled()
    tab.limit.setValue(2)
    tab.name.setText("bach-after")
    tab.import_button.click()
    wait_idle(qtbot, tab)
    assert tab.table.rowCount() == 2


def test_save_as_and_load(make_window, ws_with_dataset, tiny_dataset, tmp_path) -> None:
    window = make_window(ws_with_dataset)
    tab = window.dataset_tab
    tab.load_dataset(ws_with_dataset.datasets / tiny_dataset.name)
    assert tab.table.rowCount() == 4
    copy = tab.save_as(tmp_path / "saved" / tiny_dataset.name)
    assert (copy / "dataset.csv").read_text() == (tiny_dataset / "dataset.csv").read_text()
    tab.load_dataset(copy)
    assert tab.folder == copy and tab.table.rowCount() == 4


def test_nothing_to_import_says_so(make_window, workspace) -> None:
    from PySide6.QtWidgets import QMessageBox

    window = make_window(workspace)
    tab = window.dataset_tab
    tab.corpus.setCurrentIndex(tab.corpus.findData(""))
    tab.import_button.click()
    box = window.findChild(QMessageBox, "errorDialog")
    assert box is not None and "corpus" in box.text()
    box.accept()


def test_first_start_imports_bach_only_into_an_empty_workspace(make_window, ws_with_dataset) -> None:
    tab = make_window(ws_with_dataset).dataset_tab
    assert tab.open_default_corpus() is False and not tab.busy()


def test_first_start_shows_the_shipped_bach_dataset_without_an_import(make_window, workspace) -> None:
    tab = make_window(workspace).dataset_tab
    assert tab.open_default_corpus() is True
    assert not tab.busy()  # unpacked, not imported: no job runs
    assert tab.folder == workspace.datasets / "bach" and tab.table.rowCount() == len(tab.texts) == 371
    assert tab.saved.currentText() == "bach" and "ready" in tab.progress_label.text()


def test_the_grid_choice_reaches_the_import_options_with_the_cli_default(make_window, workspace) -> None:
    from musicgpt_gui.core.dataset.import_options import ImportOptions

    tab = make_window(workspace).dataset_tab
    assert tab.options().grid == ImportOptions().grid == 12
    tab.grid.setCurrentIndex(tab.grid.findData(48))
    assert tab.options().grid == 48


def test_a_file_read_tolerantly_shows_its_warning(make_window, workspace, tmp_path) -> None:
    from musicgpt_gui.core.dataset.metadata import DatasetMetadata, FileEntry
    from musicgpt_gui.ui.dataset_tab import piece_rows

    meta = DatasetMetadata(files=[FileEntry("a.mid", index=0, items=3, warning="symusic rejected the file")])
    [row] = piece_rows(meta, ["C4:1.0, D4:1.0, E4:1.0"])
    assert row["status"] == "ok, read tolerantly" and row["warning"] == "symusic rejected the file"


def test_the_import_form_and_the_shown_dataset_are_remembered(
    make_window, ws_with_dataset, tiny_dataset, settings
) -> None:
    newer = ws_with_dataset.datasets / "newer"
    shutil.copytree(tiny_dataset, newer)
    os.utime(newer)  # listed first: the fallback when nothing is remembered
    window = make_window(ws_with_dataset)
    tab = window.dataset_tab
    tab.corpus.setCurrentIndex(tab.corpus.findData("folk"))
    tab.grid.setCurrentIndex(tab.grid.findData(48))
    tab.limit.setValue(7)
    tab.name.setText("remembered")
    tab.load_dataset(ws_with_dataset.datasets / tiny_dataset.name)
    tab.save_settings(settings)

    again = make_window(ws_with_dataset).dataset_tab
    again.restore_settings(settings)
    assert again.corpus.currentData() == "folk" and again.grid.currentData() == 48
    assert again.limit.value() == 7 and again.name.text() == "remembered"
    assert again.folder == ws_with_dataset.datasets / tiny_dataset.name


def test_import_with_parts_lists_a_piece_s_parts_with_note_counts(make_window, workspace, qtbot, tmp_path) -> None:
    from musicgpt_gui.core.dataset.metadata import load_metadata
    from musicgpt_gui.core.music.notation import parse_text

    window = make_window(workspace)
    tab = window.dataset_tab
    song = tmp_path / "001.mid"
    shutil.copy("/work/shared/data/pop909/001.mid", song)
    tab.add_sources([song])
    assert tab.corpus.currentData() == ""
    tab.parts.setCurrentText("tracks")
    tab.drums.setChecked(True)
    tab.name.setText("pop-parts")
    tab.import_button.click()
    wait_idle(qtbot, tab)
    assert load_metadata(workspace.datasets / "pop-parts").options["parts"] == "tracks"
    tab.table.selectRow(0)
    counts = [n for _, n in parse_text(tab.preview.toPlainText()).part_counts()]
    assert len(counts) == 3 and min(counts) > 100
    assert tab.part_list.text() == (
        f"Parts: MELODY (program 0) {counts[0]} notes · BRIDGE (program 0) {counts[1]} notes · "
        f"PIANO (program 0) {counts[2]} notes"
    )
