"""The run folder's quality.json: reference metrics and each sample's, plus the text table.

References are computed once per training session: the validation pieces (what the music
should look like) and samples of the n-gram yardstick (what counting alone gives).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Optional, Sequence

from dataclasses import asdict

from musicgpt_gui.core.atomic_file import atomic_write_text
from musicgpt_gui.core.music.parts import MARKER_PREFIX
from musicgpt_gui.core.quality.arrangement import EnsembleFigures, ensemble_figures
from musicgpt_gui.core.spread import spread_pieces
from musicgpt_gui.core.quality.metrics import COLUMNS, Metrics, mean_metrics, text_metrics

QUALITY_FILE = "quality.json"
VALIDATION, NGRAM = "validation data", "n-gram samples"
# The validation reference reads pieces spread over the split up to this many characters (about 40,000
# items): all of Bach's 49 chorales, a dozen of POP909's 90 songs, so set-up does not grow with the data.
REFERENCE_CHARS = 400_000
PART_REFERENCE_CHARS = 200_000  # about six POP909 songs: enough for each part's share and range


def load(run_dir: Path) -> dict:
    """{'references': {label: metrics}, 'samples': {step: metrics}, 'generated': {...}, 'parts': {...}}; empty if
    missing or damaged."""
    path = Path(run_dir) / QUALITY_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except ValueError:
        data = {}
    return {key: data.get(key, {}) for key in ("references", "samples", "generated", "parts")}


def save(run_dir: Path, data: dict) -> None:
    atomic_write_text(Path(run_dir) / QUALITY_FILE, json.dumps(data, indent=1))


def reference_metrics(valid_texts: Sequence[str], ngram_texts: Sequence[str]) -> dict[str, Metrics]:
    """Metrics of the validation pieces (those :data:`REFERENCE_CHARS` allow) and of n-gram samples."""
    valid = mean_metrics(spread_pieces(valid_texts, REFERENCE_CHARS))
    return {VALIDATION: valid, NGRAM: mean_metrics(ngram_texts, valid.pitch_classes or None)}


def store_references(run_dir: Path, references: dict[str, dict]) -> None:
    """Keep reference rows (label -> metrics as a dict) in quality.json, samples kept."""
    data = load(run_dir)
    data["references"] = references
    save(run_dir, data)


def part_reference(run_dir: Path, valid_texts: Callable[[], Sequence[str]]) -> Optional[EnsembleFigures]:
    """Each part's figures in the validation songs (a parts dataset only), measured on first use and kept in
    quality.json: set-up does not pay for it, and a run trained before it existed gets it too."""
    data = load(run_dir)
    if data["parts"]:
        return EnsembleFigures(**data["parts"])
    texts = [t for t in spread_pieces(list(valid_texts()), PART_REFERENCE_CHARS) if t.startswith(MARKER_PREFIX)]
    if not texts:
        return None
    figures = ensemble_figures(texts)
    data["parts"] = asdict(figures)
    save(run_dir, data)
    return figures


def reference_pitch_classes(run_dir: Path) -> Optional[list[float]]:
    return load(run_dir)["references"].get(VALIDATION, {}).get("pitch_classes") or None


def record_sample(run_dir: Path, step: int, text: str) -> Metrics:
    """The sample's metrics against the validation pitch classes, added to quality.json."""
    metrics = text_metrics(text, reference_pitch_classes(run_dir))
    data = load(run_dir)
    data["samples"][str(step)] = metrics.as_dict()
    save(run_dir, data)
    return metrics


def record_generated(run_dir: Path, seed: int, texts: Sequence[str]) -> list[Metrics]:
    """Metrics of generated variations (under 'generated' in quality.json, by seed and variation)."""
    reference = reference_pitch_classes(run_dir)
    found = [text_metrics(text, reference) for text in texts]
    data = load(run_dir)
    for i, metrics in enumerate(found):
        data["generated"][f"seed {seed} variation {i + 1}"] = metrics.as_dict()
    save(run_dir, data)
    return found


def references(run_dir: Path) -> list[tuple[str, Metrics]]:
    """The stored reference rows (validation data, n-gram samples), for tables."""
    return [(label, from_dict(m)) for label, m in load(run_dir)["references"].items()]


def from_dict(values: dict) -> Metrics:
    known = Metrics.__dataclass_fields__
    return Metrics(**{k: v for k, v in values.items() if k in known})


def table(rows: Sequence[tuple[str, Metrics]]) -> str:
    """A plain-text table, one row per (label, metrics), for the CLI."""
    head = ["", *(heading for _, heading, _ in COLUMNS)]
    body = [[label, *m.cells()] for label, m in rows]
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in [head, *body])
