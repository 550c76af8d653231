"""Playing to the model: MIDI input recorded as a prefix, the metronome, and call and response (jam)."""
