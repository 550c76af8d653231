"""``python -m musicgpt_gui`` opens the GUI."""
import sys

from musicgpt_gui.ui.app import main

sys.exit(main())
