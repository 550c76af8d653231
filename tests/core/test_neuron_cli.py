"""`musicgpt attention --npz --neuron-html` on a real tiny run: the .npz's queries and keys give back its attention,
and the neuron page holds the window around --token."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from musicgpt_gui import cli
from tests.core.test_attention_qk import causal_softmax

TEXT = "C4:1.0, D4 F4:0.5, rest:0.25, E4:1.0, G4 C5:1.0, C4:0.5, A3:0.5, B3:0.5, C4:2.0"


def test_cli_exports_queries_keys_and_the_neuron_page(tiny_run, tmp_path: Path, capsys) -> None:
    base = ["--workspace", str(tiny_run.workspace.root), "attention", "--run", tiny_run.run, "--text", TEXT]
    argv = base + ["--npz", str(tmp_path / "a.npz"), "--neuron-html", str(tmp_path / "n.html"),
                   "--token", "10", "--max-tokens", "8", "--layer", "1", "--head", "1"]
    assert cli.main(argv) == 0
    with np.load(tmp_path / "a.npz") as data:
        attention, queries, keys, tokens = data["attention"], data["queries"], data["keys"], list(data["tokens"])
    layers, heads, t, _ = attention.shape
    assert queries.shape == keys.shape == (layers, heads, t, queries.shape[-1]) and t == len(tokens) > 12
    assert np.abs(causal_softmax(queries, keys) - attention).max() < 1e-5

    page = (tmp_path / "n.html").read_text()
    params = (tmp_path / "n_files" / "neuron_params.js").read_text()
    assert "Showing positions 4-11 of" in page and "around token 10" in page
    assert '"layer":1,"head":1' in params and params.count('"left_text"') == 1
    assert (tmp_path / "n_files" / "neuron_view.js").is_file()
    assert "wrote" in capsys.readouterr().err

    assert cli.main(base + ["--neuron-html", str(tmp_path / "x.html"), "--token", "999"]) == 1
    assert "no token 999" in capsys.readouterr().err
    assert cli.main(base + ["--neuron-html", str(tmp_path / "x.html"), "--head", "9"]) == 1
    assert "heads 0.." in capsys.readouterr().err


def test_plain_npz_without_flags_still_has_no_neuron_page(tiny_run, tmp_path: Path) -> None:
    base = ["--workspace", str(tiny_run.workspace.root), "attention", "--run", tiny_run.run, "--text", TEXT]
    assert cli.main(base + ["--html", str(tmp_path / "h.html")]) == 0
    assert not list(tmp_path.glob("*neuron*")) and not (tmp_path / "h_files" / "neuron_params.js").exists()
