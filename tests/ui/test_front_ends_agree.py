"""The GUI and the CLI run the same core functions: same provenance, same new-model names."""
from __future__ import annotations

import shutil

import mido
import pytest

from musicgpt_gui.cli import main
from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.midi.midi_io import provenance_of
from musicgpt_gui.core.music import notation
from musicgpt_gui.core.workspace import resolve_workspace
from tests.ui.helpers import wait_idle
from tests.ui.test_finetune_tab import set_up_training


def notes_of(midi: mido.MidiFile) -> list[tuple[int, int]]:
    return [(m.note, m.velocity) for track in midi.tracks for m in track if m.type == "note_on"]


def test_gui_and_cli_exports_of_one_generation_carry_the_same_provenance(make_window, tiny_run, tiny_dataset, qtbot,
                                                                         tmp_path) -> None:
    piece = dataset_files.load_split(tiny_dataset, dataset_files.TRAIN)[0]
    opening = notation.join_items(notation.split_items(piece)[:8])
    tab = make_window(tiny_run.workspace).generate_tab
    tab.refresh()
    tab.run.setCurrentText(tiny_run.run)
    tab.prefix.setPlainText(opening)
    tab.length.setValue(12)
    tab.random_seed.setChecked(False)
    tab.seed.setValue(3)
    tab.generate_button.click()
    wait_idle(qtbot, tab)
    gui = mido.MidiFile(tab.export_to(tmp_path / "gui.mid"))

    cli_path = tmp_path / "cli.mid"
    assert main(["--workspace", str(tiny_run.workspace.root), "generate", "--run", tiny_run.run, "--prefix", opening,
                 "--length", "12", "--seed", "3", "--out", str(cli_path)]) == 0
    cli = mido.MidiFile(cli_path)

    assert provenance_of(gui) == provenance_of(cli)
    recorded = provenance_of(gui)
    assert notation.parse_text(recorded["prefix"]).text == notation.parse_text(opening).text and recorded["seed"] == 3
    assert recorded["settings"]["temperature"] == 0.8 and recorded["settings"]["length"] == 12
    assert notes_of(gui) == notes_of(cli)


@pytest.mark.slow
def test_new_model_then_train_names_the_model_the_same_way_in_gui_and_cli(make_window, ws_with_dataset, tiny_dataset,
                                                                          qtbot, tmp_path) -> None:
    tab = make_window(ws_with_dataset).finetune_tab
    set_up_training(tab, tiny_dataset.name, "gui-a", steps=1)
    for run in ("gui-a", "gui-b"):
        tab.run_name.setText(run)
        tab.start_button.click()
        wait_idle(qtbot, tab)
        assert tab.rate_label.text().startswith("Finished"), tab.rate_label.text()
    gui_names = sorted(p.name for p in ws_with_dataset.models.iterdir())

    cli_ws = resolve_workspace(tmp_path / "cli-ws")
    shutil.copytree(tiny_dataset, cli_ws.datasets / tiny_dataset.name)
    for run in ("cli-a", "cli-b"):
        assert main(["--workspace", str(cli_ws.root), "train", "--dataset", tiny_dataset.name, "--new-model", "tiny",
                     "--vocab", "atomic", "--run", run, "--steps", "1", "--window", "64", "--sample-every", "0",
                     "--validate-every", "0"]) == 0
    cli_names = sorted(p.name for p in cli_ws.models.iterdir())

    assert gui_names == cli_names == [f"{tiny_dataset.name}-tiny-atomic", f"{tiny_dataset.name}-tiny-atomic-2"]


def test_both_front_ends_start_from_the_core_defaults(make_window, workspace) -> None:
    from musicgpt_gui.cli import build_parser
    from musicgpt_gui.core.model.store import vocab
    from musicgpt_gui.core.model import workflows
    from musicgpt_gui.core.model.sample.generation import GenerationSettings

    window = make_window(workspace)
    generate, finetune = window.generate_tab, window.finetune_tab
    cli = build_parser().parse_args(["generate", "--run", "r"])
    core = GenerationSettings()
    for key in ("temperature", "top_k", "top_p", "length", "variations"):
        assert getattr(generate, key).value() == getattr(cli, key) == getattr(core, key), key
    assert generate.temperature.minimum() == 0.0  # greedy decoding is allowed, as in core and the CLI
    assert generate.settings().validate().temperature == core.temperature

    new_model = workflows.train_defaults(new_model=True)
    assert {key: spin.value() for key, spin in finetune.hyper.items()} == {k: new_model[k] for k in finetune.hyper}
    assert finetune.learning_rate.value() == new_model["learning_rate"]
    assert finetune.vocab.currentText() == vocab.DEFAULT_KIND == build_parser().parse_args(
        ["train", "--new-model", "tiny"]).vocab
