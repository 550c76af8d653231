"""music: notation."""
