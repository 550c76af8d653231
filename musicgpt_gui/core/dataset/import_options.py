"""How the importer converts: the options both front ends fill in, checked in one place."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.music.grid import DEFAULT_GRID, GRIDS
from musicgpt_gui.core.music.notation import FORMAT_VERSIONS, FORMATS
from musicgpt_gui.core.music.parts import PART_MODES

TRACK_MODES = ("merge", "first", "flat")


@dataclass
class ImportOptions:
    """How to convert.  ``tracks=None`` means 'flat' for the seed format (music21's order,
    exactly the seed's text) and 'merge' for the timed format (one time-ordered stream)."""

    format: str = "timed"
    tracks: Optional[str] = None
    limit: Optional[int] = None
    transpose: int = 0
    include_drums: bool = False
    grid: int = DEFAULT_GRID  # timed format: steps per quarter note
    velocity_bins: int = 0  # timed format: keep velocities as velocity= controls in this many bins (0: off)
    programs: bool = False  # timed format: keep MIDI programs as program= controls
    parts: str = "off"  # timed format: tracks|programs become declared parts, each note marked (off: one stream)
    cache_dir: Optional[Path] = None
    workers: Optional[int] = None
    valid_every: int = 10  # about one piece in ten goes to valid.csv

    @property
    def track_mode(self) -> str:
        return self.tracks or ("flat" if self.format == "seed" else "merge")

    @property
    def reader_grid(self) -> Optional[int]:
        """The uniform grid for the timed format; None (music21's grid) for the seed format."""
        return self.grid if self.format == "timed" else None

    def check(self) -> None:
        if self.format not in FORMATS:
            raise JobError(f"unknown format '{self.format}' (choose {' or '.join(FORMATS)})")
        if self.track_mode not in TRACK_MODES:
            raise JobError(f"unknown track mode '{self.tracks}' (choose {', '.join(TRACK_MODES)})")
        if self.track_mode == "flat" and self.format == "timed":
            raise JobError("--tracks flat interleaves tracks without timing; use it with --format seed")
        if not 0 <= self.transpose <= 12:
            raise JobError("--transpose must be between 0 and 12 semitones")
        if self.grid not in GRIDS:
            raise JobError(f"--grid must be one of {', '.join(map(str, GRIDS))} steps per quarter note")
        if self.velocity_bins and not 2 <= self.velocity_bins <= 127:
            raise JobError("--velocity-bins must be between 2 and 127 (or 0 to leave velocities out)")
        if (self.velocity_bins or self.programs) and self.format != "timed":
            raise JobError("velocity= and program= controls exist only in the timed format")
        if self.parts not in PART_MODES:
            raise JobError(f"unknown part mode '{self.parts}' (choose {', '.join(PART_MODES)})")
        if self.parts != "off" and self.format != "timed":
            raise JobError("parts exist only in the timed format")
        if self.parts != "off" and self.programs:
            raise JobError(
                "--programs writes program= controls for one stream; with --parts each part declares its program"
            )
        if self.limit is not None and self.limit < 1:
            raise JobError("--limit must be at least 1")

    @classmethod
    def of_dataset(cls, recorded: dict[str, Any]) -> "ImportOptions":
        """The conversion options a dataset's metadata.json records (defaults where it has none)."""
        grid = recorded.get("grid")
        return cls(
            format=recorded.get("format", cls.format),
            tracks=recorded.get("tracks"),
            include_drums=bool(recorded.get("include_drums", False)),
            grid=grid if grid in GRIDS else DEFAULT_GRID,
            velocity_bins=int(recorded.get("velocity_bins") or 0),
            programs=bool(recorded.get("programs", False)),
            parts=recorded.get("parts") if recorded.get("parts") in PART_MODES else "off",
        )

    def cache_fields(self) -> dict[str, Any]:
        """The options that change a file's conversion (and so its cache entry)."""
        return {
            "format": self.format, "format_version": FORMAT_VERSIONS[self.format], "grid": self.reader_grid,
            "tracks": self.track_mode, "transpose": self.transpose, "include_drums": self.include_drums,
            "velocity_bins": self.velocity_bins, "programs": self.programs, "parts": self.parts,
        }

    def as_metadata(self) -> dict[str, Any]:
        """The options as metadata.json records them (the resolved track mode, paths as text)."""
        return {
            "format": self.format, "tracks": self.track_mode, "limit": self.limit, "transpose": self.transpose,
            "include_drums": self.include_drums, "grid": self.reader_grid,
            "velocity_bins": self.velocity_bins, "programs": self.programs, "parts": self.parts,
            "cache_dir": str(self.cache_dir) if self.cache_dir else None,
            "workers": self.workers, "valid_every": self.valid_every,
        }
