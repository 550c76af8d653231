"""readers: midi_reader, score_reader."""
