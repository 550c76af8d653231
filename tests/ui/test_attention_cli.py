"""`musicgpt attention` writes the rollout, the pooled CSV and the figure (Qt offscreen) for a real tiny run."""
from __future__ import annotations

import csv
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage

from musicgpt_gui import cli
from musicgpt_gui.core.model.inspect.attention import pool_items
from musicgpt_gui.core.model.inspect.rollout import attention_rollout, pooled_rollout

TEXT = "C4:1.0, D4 F4:0.5, rest:0.25, E4:1.0, G4 C5:1.0, C4:0.5, A3:0.5"


def read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    rows = list(csv.reader(path.open(encoding="utf-8")))
    return rows[0][1:], np.array([[float(x) for x in r[1:]] for r in rows[1:]])


def test_cli_writes_rollout_csv_and_figures(tiny_run, tmp_path: Path, capsys) -> None:
    base = ["--workspace", str(tiny_run.workspace.root), "attention", "--run", tiny_run.run, "--text", TEXT]
    assert cli.main(base + ["--rollout", "--pool", "notes", "--npz", str(tmp_path / "a.npz"),
                            "--csv", str(tmp_path / "r.csv"), "--figure", str(tmp_path / "r.svg")]) == 0
    with np.load(tmp_path / "a.npz") as data:
        attention, tokens = data["attention"], list(data["tokens"])
        t = len(tokens)
        assert data["rollout"].shape == (t, t)
        assert np.abs(data["rollout"] - attention_rollout(attention)).max() < 1e-6
        assert data["item_rollout"].shape == (len(data["items"]),) * 2
    labels, matrix = read_csv(tmp_path / "r.csv")
    assert labels == ["<|endoftext|>"] + [item.strip() for item in TEXT.split(",")]
    assert np.allclose(matrix, pooled_rollout(tokens, attention_rollout(attention)), atol=1e-5)
    assert ET.parse(tmp_path / "r.svg").getroot().tag.endswith("svg")

    assert cli.main(base + ["--layer", "0", "--head", "1", "--select", "3", "--reverse",
                            "--csv", str(tmp_path / "h.csv"), "--figure", str(tmp_path / "h.png")]) == 0
    _, matrix = read_csv(tmp_path / "h.csv")
    assert np.allclose(matrix, pool_items(tokens, attention).attention[0, 1], atol=1e-5)
    image = QImage(str(tmp_path / "h.png"))
    assert not image.isNull() and image.width() >= 900
    assert "wrote" in capsys.readouterr().err

    assert cli.main(base + ["--figure", str(tmp_path / "x.gif")]) == 1
    assert ".png or .svg" in capsys.readouterr().err
    assert cli.main(base + ["--csv", str(tmp_path / "x.csv"), "--select", "99"]) == 1
    assert "no element 99" in capsys.readouterr().err
    assert cli.main(base + ["--csv", str(tmp_path / "x.csv"), "--head", "7"]) == 1
    assert "no head 7" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "x.gif").exists()
