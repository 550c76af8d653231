"""Where a prompt comes from: the opening of a dataset piece, or of a MIDI file converted as the run's
dataset was, so the prefix has the grid, tracks and controls the model was trained on."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional

from musicgpt_gui.core.dataset import dataset_files
from musicgpt_gui.core.dataset.import_options import ImportOptions
from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.music.notation import join_items, split_items


def dataset_prefix(folder: Path, piece: int, items: int, split: str = dataset_files.ALL) -> str:
    """The opening ``items`` items of row ``piece`` of a dataset split."""
    pieces = dataset_files.load_split(folder, split)
    if not 0 <= piece < len(pieces):
        raise JobError(
            f"Dataset {Path(folder).name} has {len(pieces)} pieces in {split}.csv; there is no piece {piece}."
        )
    if items < 1:
        raise JobError(f"The prefix needs at least one item, not {items}.")
    return join_items(split_items(pieces[piece])[:items])


def midi_prefix(path: Path, items: int, options: Optional[ImportOptions] = None) -> str:
    """The opening ``items`` items of a MIDI file, converted as the importer converts with ``options``.

    ``options``: the run's dataset's (:func:`dataset_files.conversion_options`), so the prefix has
    the grid, tracks and controls the model was trained on; without a dataset, the import defaults.
    """
    from musicgpt_gui.core.dataset.convert import convert_task
    from musicgpt_gui.core.dataset.sources import Task

    if items < 1:
        raise JobError(f"The prefix needs at least one item, not {items}.")
    path = Path(path)
    if not path.is_file():
        raise JobError(f"There is no MIDI file at {path}.")
    result = convert_task(Task("midi", str(path), path.name), replace(options or ImportOptions(), transpose=0))
    if result.error:
        raise JobError(f"Cannot read {path.name} as MIDI ({result.error}).")
    return join_items(split_items(result.pieces[0].texts[0])[:items])
