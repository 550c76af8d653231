"""`musicgpt train` and `musicgpt models` end to end on a tiny model (real TensorFlow, offline)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from musicgpt_gui.cli import main


def test_train_new_model_then_resume(workspace, tiny_dataset: Path, capsys) -> None:
    shutil.copytree(tiny_dataset, workspace.datasets / "bach")
    common = ["--window", "32", "--batch-size", "1", "--sample-every", "0", "--validate-every", "2"]
    assert main(["train", "--dataset", "bach", "--new-model", "tiny", "--vocab", "bpe", "--steps", "2", *common]) == 0
    out = capsys.readouterr()
    assert "run run1: step 2 (2 now)" in out.out and "best validation loss" in out.out
    assert "step 2/2 loss" in out.err  # the live bar's postfix

    assert main(["train", "--resume", "--steps", "1", "--report-vocab", *common]) == 0
    out = capsys.readouterr()
    assert "run run1: step 3 (1 now)" in out.out
    assert "atomic (trained on bach)" in out.out and "tok/elem" in out.out
    history = json.loads((workspace.checkpoint / "run1" / "history.json").read_text())
    assert [e["step"] for e in history["train"]] == [1, 2, 3]

    assert main(["models", "list"]) == 0
    assert "bach-tiny-bpe\t2 layers, 64 wide" in capsys.readouterr().out


def test_cli_errors_are_one_line(workspace, capsys) -> None:
    assert main(["train", "--dataset", "nowhere", "--new-model", "tiny"]) == 1
    assert "'nowhere' is not a dataset folder" in capsys.readouterr().err
    assert main(["models", "download", "124M"]) == 1
    err = capsys.readouterr().err
    assert "musicgpt: error: Could not download GPT-2 124M" in err and "models new --dataset" in err
    assert main(["models", "import", str(workspace.root / "none")]) == 1
    assert "does not exist" in capsys.readouterr().err
