"""symusic checks at import time that its ABC tools ``bin/midi2abc`` and ``bin/abc2midi`` exist
(symusic/factory.py), so a bundle without them cannot import MIDI at all.  They are executables,
so they are collected as binaries: PyInstaller keeps them executable and bundles what they link.
"""
from PyInstaller.utils.hooks import collect_data_files

binaries = collect_data_files("symusic", subdir="bin")
