"""What every benchmark does with its report: print it as it goes, and keep it in ``--out``."""
from __future__ import annotations

from pathlib import Path
from typing import Optional


def publish(lines: list[str], out: Optional[Path]) -> None:
    for line in lines:
        print(line, flush=True)
    if out:
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")
