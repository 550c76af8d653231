"""midi: midi_io, midi_ports, playback."""
