"""`musicgpt import` end to end through the CLI entry point."""
from __future__ import annotations

from pathlib import Path

from musicgpt_gui.cli import main
from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.dataset.metadata import load_metadata
from tests.core.midi_factory import scale_file


def test_import_folder_prints_summary_and_lists_errors(workspace, tmp_path: Path, capsys) -> None:
    for i in range(2):
        scale_file(tmp_path / "in" / f"p{i}.mid", offset=i)
    (tmp_path / "in" / "zero.mid").write_bytes(b"")
    code = main(["import", str(tmp_path / "in"), "--format", "seed", "--name", "mine", "--workers", "1"])
    out, err = capsys.readouterr()
    assert code == 0
    folder = workspace.datasets / "mine"
    assert len(dataset_files.load_split(folder)) == 2
    assert "Imported 2 pieces" in out and str(folder) in out
    assert "1 file(s) skipped:" in out and "zero.mid: empty file (0 bytes)" in out
    assert "import:" in err  # the tqdm bar is on stderr
    assert load_metadata(folder).format == "seed"

    main(["import", str(tmp_path / "in"), "--format", "seed", "--name", "mine", "--workers", "1"])
    assert "files read from cache: 3/3" in capsys.readouterr().out


def test_import_with_no_source_takes_the_bach_corpus(workspace, capsys) -> None:
    assert main(["import", "--limit", "2", "--transpose", "1", "--workers", "1"]) == 0
    folder = workspace.datasets / "bach"
    assert len(dataset_files.load_split(folder)) == 2 * 3
    assert load_metadata(folder).sources == ["corpus:bach"]
    assert "Imported 2 pieces (6 rows" in capsys.readouterr().out


def test_all_bad_input_fails_with_one_line(workspace, tmp_path: Path, capsys) -> None:
    (tmp_path / "junk.mid").write_bytes(b"not midi at all")
    out_dir = tmp_path / "out"
    code = main(["import", str(tmp_path / "junk.mid"), "--out", str(out_dir)])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 1
    assert err.startswith("musicgpt: error: no piece could be imported") and "not a MIDI file" in err
    assert not (out_dir / "dataset.csv").exists()


def test_grid_velocity_and_program_options_reach_the_dataset(workspace, tmp_path: Path) -> None:
    scale_file(tmp_path / "in" / "p.mid")
    args = ["import", str(tmp_path / "in"), "--name", "fine", "--workers", "1", "--grid", "48", "--velocity-bins", "8",
            "--programs"]
    assert main(args) == 0
    meta = load_metadata(workspace.datasets / "fine")
    assert meta.grid == 48 and meta.options["velocity_bins"] == 8 and meta.options["programs"] is True
    assert "velocity=88" in dataset_files.load_split(workspace.datasets / "fine")[0]
