"""Frozen entry point of the windowed ``musicgpt-gui`` executable."""
import sys

from musicgpt_gui.ui.app import main

sys.exit(main())
