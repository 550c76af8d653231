"""Finding a General MIDI SoundFont without internet, and remembering the one the user chose.

Search order: the user's choice, ``$MUSICGPT_SOUNDFONT``, a SoundFont bundled with a frozen
build, then the files Debian/Ubuntu packages install (``timgm6mb-soundfont`` from
``scripts/install.sh``, ``fluid-soundfont-gm``, ``musescore-general-soundfont``) and the usual
places on macOS and Windows.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

from musicgpt_gui.core.atomic_file import atomic_write_text
from musicgpt_gui.core.jobs import JobError

CHOICE_FILE = "soundfont.json"
ENV_VAR = "MUSICGPT_SOUNDFONT"
BUNDLED_DIR = "soundfonts"  # next to the frozen executable's data (PyInstaller's _MEIPASS)
SUFFIXES = (".sf2",)
SYSTEM_CANDIDATES = (
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/local/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
    "~/Library/Audio/Sounds/Banks/default.sf2",
    "C:/soundfonts/default.sf2",
)


class SoundFontMissing(JobError):
    """No usable SoundFont: the message says what to install or choose."""


def bundled_soundfonts() -> list[Path]:
    """SoundFonts shipped inside a frozen build (none when running from source)."""
    base = getattr(sys, "_MEIPASS", None)
    if not base:
        return []
    return sorted(p for p in (Path(base) / BUNDLED_DIR).glob("*") if p.suffix.lower() in SUFFIXES)


def find_soundfont(preferred: Optional[str | Path] = None) -> Path:
    """The SoundFont to use: ``preferred`` if given (it must exist), else the first one found."""
    if preferred:
        path = Path(preferred).expanduser()
        check_soundfont(path)
        return path
    env = os.environ.get(ENV_VAR)
    candidates = ([Path(env)] if env else []) + bundled_soundfonts() + [Path(p).expanduser() for p in SYSTEM_CANDIDATES]
    for path in candidates:
        if path.is_file():
            return path
    raise SoundFontMissing(
        "No General MIDI SoundFont found: install one ('sudo apt install timgm6mb-soundfont', which "
        "scripts/install.sh does) or choose a .sf2 file (--soundfont FILE, or 'Choose SoundFont...' in the app)."
    )


def check_soundfont(path: Path) -> None:
    """Refuse early what the synth could not load, with a plain message."""
    if not path.is_file():
        raise SoundFontMissing(f"SoundFont {path} does not exist.")
    if path.suffix.lower() not in SUFFIXES:
        raise SoundFontMissing(f"{path.name} is not a .sf2 SoundFont (the built-in synth reads .sf2 files).")


def load_choice(path: Path) -> Optional[Path]:
    """The remembered SoundFont, or None when none was saved (or it has gone)."""
    try:
        chosen = Path(json.loads(Path(path).read_text(encoding="utf-8"))["soundfont"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return chosen if chosen.is_file() else None


def save_choice(path: Path, soundfont: Path) -> None:
    atomic_write_text(Path(path), json.dumps({"soundfont": str(soundfont)}, indent=2) + "\n")


def load_choice_value(value: Optional[str]) -> Optional[Path]:
    """A remembered path (GUI settings hold it as text), if the file is still there."""
    return Path(value) if value and Path(value).is_file() else None
