"""General MIDI facts that the reader and the writer must agree on."""

DRUM_CHANNEL = 9  # MIDI channel 10 (percussion), 0-based as mido counts; programs never land there
