"""Our own resources (icons, page template, stylesheet); installed as ``musicgpt_gui.resources``."""
