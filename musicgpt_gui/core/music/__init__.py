"""music: note text and the musical facts every layer shares (no file reading, no MIDI ports).

- notation: the two note-text formats (seed, timed), their grammar, formatting and the tolerant parser
- transpose: note text shifted by semitones (CSV sources), spelled as the renderer spells
- piece: :class:`Piece` (notes + marks + music21-order items), what readers produce and the renderer reads
- render: a Piece -> note-text items (merged/first-track streams, the seed's flat order)
- grid: the timed format's uniform grid (1/12 quarter by default) and music21's (4, 3) grid for the seed format
- music21_names: tempo, key and time-signature names exactly as music21 prints them
- tempo_map: THE TempoMap (quarters <-> seconds) for the writer, statistics and the piano roll
- general_midi: constants the MIDI reader and writer share (the drum channel)
- parts: :class:`Part` (name, GM program, drums), the part declarations and ``@N`` markers, import's part modes
"""
