"""Sub-commands of the ``musicgpt`` CLI, one module each (see musicgpt_gui/cli.py)."""

from musicgpt_gui.commands import (
    attention_cmd,
    export_cmd,
    generate_cmd,
    import_cmd,
    infill_cmd,
    jam_cmd,
    models_cmd,
    play_cmd,
    render_cmd,
    selftest_cmd,
    train_cmd,
)

COMMANDS = (
    import_cmd,
    models_cmd,
    train_cmd,
    generate_cmd,
    infill_cmd,
    attention_cmd,
    export_cmd,
    play_cmd,
    jam_cmd,
    render_cmd,
    selftest_cmd,
)
