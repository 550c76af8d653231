"""musicgpt-gui: turn MIDI into note text, finetune GPT-2 on it, generate, play and inspect attention."""

__version__ = "0.1.0"
