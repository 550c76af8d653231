"""readers: a file -> :class:`~musicgpt_gui.core.music.piece.Piece`.

- formats: the registry of readable formats (name + extensions), read by the importer, file dialogs, messages
- midi_reader: a MIDI file -> Piece (``read_piece``), symusic for the timed format, mido for the seed format
- midi_symusic: MIDI bytes -> raw tracks with symusic (C++), notes paired the way a MIDI player sounds them
- midi_file: MIDI bytes -> raw tracks with mido, and the plain-language read errors
- flatten_replay: raw tracks -> items in music21's ``flatten()`` order (the seed's exact text)
- score_reader: MusicXML, ABC, kern and the music21 corpus -> Piece, via music21
"""
