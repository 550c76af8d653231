"""MIDI out: ``midi_io`` (note text -> MIDI file, provenance), ``midi_ports`` (rtmidi ports and the
remembered choice) and ``playback`` (the Player thread that sends a piece to an output)."""
