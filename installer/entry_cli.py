"""Frozen entry point of the console ``musicgpt`` executable."""
import sys

from musicgpt_gui.cli import main

sys.exit(main())
