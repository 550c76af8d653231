"""Off a terminal (CI, a log file, a pipe) the CLI's progress is a line every few seconds, never a
tqdm frame per update: a 905-file import would otherwise write one 100 kB line of ``\\r`` frames."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from musicgpt_gui.commands.common import progress_bar
from musicgpt_gui.core.jobs import Progress

POP909 = Path(__file__).resolve().parents[3] / "shared" / "data" / "pop909"


def test_off_a_terminal_a_thousand_updates_make_a_first_and_a_last_line() -> None:
    log = io.StringIO()
    with progress_bar("import", stream=log) as report:
        for i in range(1, 1001):
            report(Progress(i / 1000, f"{i}/1000 files"))
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue()
    assert lines == ["import:   0% 1/1000 files", "import: 100% 1000/1000 files"]


def test_a_real_import_logged_to_a_file_stays_small_and_has_no_carriage_returns(tmp_path: Path) -> None:
    files = sorted(POP909.glob("*.mid"))[:120]
    assert len(files) == 120, f"POP909 is expected at {POP909}"
    source = tmp_path / "songs"
    source.mkdir()
    for f in files:
        (source / f.name).symlink_to(f)
    log_path = tmp_path / "import.log"
    env = dict(os.environ, MUSICGPT_WORKSPACE=str(tmp_path / "ws"))
    with open(log_path, "w") as log:
        done = subprocess.run(
            [sys.executable, "-m", "musicgpt_gui.cli", "import", str(source), "--name", "pop", "--workers", "1"],
            stdout=log, stderr=subprocess.STDOUT, env=env, timeout=600,
        )
    text = log_path.read_text()
    assert done.returncode == 0, text[-2000:]
    assert "Imported 120 pieces" in text
    assert "\r" not in text
    assert len(text) < 4000, text  # a tqdm bar off a terminal wrote a frame per file here
