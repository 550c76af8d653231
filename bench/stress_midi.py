"""Synthetic MIDI files that stress the MIDI -> timed text -> MIDI round trip (written with mido).

Each case is a function returning a ``mido.MidiFile`` (480 ticks per beat, fixed random seeds):
tempo changes on every beat (and off the grid), time-signature changes, an off-grid pickup, staccato, expressive
jitter, 12 tracks with unisons and overlapping same-pitch notes, drums, a 14-track pop arrangement and a piano
performance; and for parts: a band of 15 programs and drums under tempo changes, six tracks sharing two programs
(unisons across them), a full drum kit, and a type-0 file whose channels are its parts.  Run it to write them:

    python bench/stress_midi.py OUT_DIR
"""
from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Callable, Iterable

import mido

TPQ = 480
DRUMS = 9

# (on tick, off tick, pitch, channel)
Note = tuple[int, int, int, int]


def build(
    tracks: Iterable[Iterable[Note]],
    tempos: Iterable[tuple[int, float]] = ((0, 120.0),),
    meters: Iterable[tuple[int, int, int]] = ((0, 4, 4),),
) -> mido.MidiFile:
    """A type-1 file: a conductor track (tempo and time-signature changes at ticks), then the note tracks."""
    midi = mido.MidiFile(type=1, ticks_per_beat=TPQ)
    conductor = [(t, 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))) for t, bpm in tempos]
    conductor += [(t, 0, mido.MetaMessage("time_signature", numerator=n, denominator=d)) for t, n, d in meters]
    midi.tracks.append(_track(conductor))
    for notes in tracks:
        events = []
        for on, off, pitch, channel in notes:
            events.append((on, 1, mido.Message("note_on", channel=channel, note=pitch, velocity=80)))
            events.append((off, 0, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))
        midi.tracks.append(_track(events))
    return midi


def _track(events: list[tuple[int, int, object]]) -> mido.MidiTrack:
    track = mido.MidiTrack()
    now = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - now))
        now = tick
    return track


def _melody(count: int, step: int, length: int, start: int = 0, channel: int = 0, seed: int = 1) -> list[Note]:
    rng = random.Random(seed)
    return [(start + i * step, start + i * step + length, rng.randrange(55, 80), channel) for i in range(count)]


def tempo_every_beat() -> mido.MidiFile:
    """A tempo change on every beat between 50 and 180 bpm, under a line of eighths."""
    rng = random.Random(2)
    tempos = [(beat * TPQ, float(rng.randrange(50, 181))) for beat in range(32)]
    return build([_melody(64, TPQ // 2, TPQ // 2)], tempos)


def tempo_off_grid() -> mido.MidiFile:
    """200 tempo changes up to 19 ticks off each beat, 50 or 90 bpm: snapping them one by one would drift."""
    rng = random.Random(7)
    moved = [(beat * TPQ + rng.choice([-19, -13, 13, 19]), rng.choice([50.0, 90.0])) for beat in range(1, 200)]
    tempos = [(0, 60.0), *moved]
    return build([_melody(400, TPQ // 2, TPQ // 2, seed=8)], tempos)


def time_signature_changes() -> mido.MidiFile:
    """4/4, 3/4, 7/8 and 5/4 bars in turn, a note on every beat and half beat."""
    meters, tick = [], 0
    for numerator, denominator in [(4, 4), (3, 4), (7, 8), (5, 4)] * 3:
        meters.append((tick, numerator, denominator))
        tick += TPQ * 4 * numerator // denominator
    return build([_melody(tick // (TPQ // 2), TPQ // 2, TPQ // 3)], ((0, 96.0),), meters)


def off_grid_pickup() -> mido.MidiFile:
    """Straight eighths starting 0.127 quarter after the beat, at 66 bpm (the case in the issue)."""
    start = round(0.127 * TPQ)
    return build([_melody(48, TPQ // 2, TPQ // 2 - 10, start=start)], ((0, 66.0),))


def staccato() -> mido.MidiFile:
    """Notes of 0.1 quarter and of 200 ticks (0.4167 quarter) on the beat, at 120 bpm."""
    short = _melody(24, TPQ, round(0.1 * TPQ), seed=3)
    medium = _melody(24, TPQ, 200, start=24 * TPQ, seed=4)
    return build([short + medium])


def expressive_jitter() -> mido.MidiFile:
    """A two-hand performance: onsets and lengths jittered by up to +-30 ticks, at 100 bpm."""
    rng = random.Random(5)
    hands = []
    for channel, (low, high, step) in enumerate([(60, 84, TPQ // 2), (36, 60, TPQ)]):
        notes = []
        for i in range(96 if step == TPQ // 2 else 48):
            on = max(0, i * step + rng.randint(-30, 30))
            notes.append((on, on + max(40, step - 20 + rng.randint(-30, 30)), rng.randrange(low, high), channel))
        hands.append(notes)
    return build(hands, ((0, 100.0),))


def unisons_12_tracks() -> mido.MidiFile:
    """12 tracks on 12 channels: pairs double each other (same pitch, same onset), one pair with
    different lengths, and a track that re-strikes a pitch another track still holds."""
    tracks = []
    for pair in range(5):
        line = _melody(32, TPQ // 2, TPQ // 2, seed=10 + pair)
        tracks.append(line)
        longer = pair == 4
        tracks.append([(on, off + (TPQ // 2 if longer else 0), p, 0) for on, off, p, _ in line])
    held = [(i * 2 * TPQ, i * 2 * TPQ + 2 * TPQ, 48, 0) for i in range(8)]
    restrike = [(i * 2 * TPQ + TPQ, i * 2 * TPQ + TPQ + TPQ // 2, 48, 0) for i in range(8)]
    tracks += [held, restrike]
    for index, notes in enumerate(tracks):
        channel = index if index < DRUMS else index + 1
        tracks[index] = [(on, off, p, channel) for on, off, p, _ in notes]
    return build(tracks, ((0, 110.0),))


def drums() -> mido.MidiFile:
    """A bass line with a drum kit on channel 10 (drums are left out of the text by default)."""
    bass = _melody(32, TPQ // 2, TPQ // 2 - 20, seed=6)
    kit = [(i * TPQ // 2, i * TPQ // 2 + 60, 36 if i % 2 == 0 else 38, DRUMS) for i in range(32)]
    return build([bass, kit], ((0, 130.0),))


def pop_arrangement() -> mido.MidiFile:
    """Three minutes of a 14-track band arrangement at 96 bpm, about 8,000 notes, the shape of a real pop file:
    drums (16th hats), bass, a humanised piano, strings doubled at the unison by a second section, a lead
    doubled by a synth, strummed guitar chords, arpeggios, pads, brass stabs and a counter line."""
    rng = random.Random(14)
    bars, bar = 72, 4 * TPQ
    roots = [rng.choice([45, 47, 48, 50, 52, 53, 55]) for _ in range(bars)]
    triad = lambda root: [root, root + (3 if rng.random() < 0.4 else 4), root + 7]  # noqa: E731
    human = lambda tick: max(0, tick + rng.randint(-12, 12))  # noqa: E731
    parts: dict[str, list[Note]] = {name: [] for name in (
        "kit", "bass", "piano", "strings", "strings2", "lead", "lead2", "guitar", "arp", "pad", "brass", "counter",
        "organ", "bells")}
    for b, root in enumerate(roots):
        t0, chord = b * bar, triad(root)
        parts["kit"] += [(t0 + i * TPQ // 4, t0 + i * TPQ // 4 + 40, 42, DRUMS) for i in range(16)]
        parts["kit"] += [(t0 + i * TPQ, t0 + i * TPQ + 60, 36 if i % 2 == 0 else 38, DRUMS) for i in range(4)]
        parts["bass"] += [(human(t0 + i * TPQ // 2), t0 + i * TPQ // 2 + 200, root - 12, 1) for i in range(8)]
        for i in range(4):
            on = human(t0 + i * TPQ)
            parts["piano"] += [(on, on + TPQ - 30, p + 12, 2) for p in chord + [root + 24]]
        parts["strings"] += [(t0, t0 + bar, p + 12, 3) for p in chord]
        parts["strings2"] += [(t0, t0 + bar - TPQ // 2, p + 12, 4) for p in chord]  # the unison doubling
        for i in range(8):
            on, pitch = t0 + i * TPQ // 2 + rng.choice([0, 0, TPQ // 4]), rng.choice(chord) + 24
            parts["lead"].append((on, on + TPQ // 3, pitch, 5))
            parts["lead2"].append((on, on + TPQ // 3, pitch, 6))
        for i in range(2):
            on = t0 + i * 2 * TPQ
            strings = chord + [p + 12 for p in chord]
            parts["guitar"] += [(on + k * 10, on + 2 * TPQ - 40, p, 7) for k, p in enumerate(strings)]
        parts["arp"] += [(t0 + i * TPQ // 4, t0 + i * TPQ // 4 + 100, (chord * 3)[i % 9] + 24, 8) for i in range(16)]
        parts["pad"] += [(t0, t0 + bar, p, 10) for p in (root, root + 7)]
        parts["brass"] += [(t0 + 3 * TPQ // 2, t0 + 2 * TPQ, p + 12, 11) for p in chord]
        for i in range(4):
            parts["counter"].append((human(t0 + i * TPQ), t0 + i * TPQ + TPQ - 50, rng.choice(chord) + 12, 12))
        parts["organ"] += [(t0, t0 + 2 * TPQ, p, 13) for p in chord] + [(t0 + 2 * TPQ, t0 + bar, p, 13) for p in chord]
        parts["bells"] += [(t0 + 3 * TPQ, t0 + 3 * TPQ + TPQ // 2, chord[2] + 36, 14)]
    return build(parts.values(), ((0, 96.0),))


def piano_performance() -> mido.MidiFile:
    """Four minutes of a recorded piano performance: one track, about 6,000 notes at free times (rubato,
    spread chords, no grid), velocities 30-110, and a sustain pedal that moves every half bar -- like a
    file from a MIDI keyboard, whose controller stream music21 also reads."""
    rng = random.Random(21)
    midi = build([], ((0, 120.0),))
    events, now = [], 0
    while now < 480 * TPQ:
        beat = TPQ + rng.randint(-60, 60)
        root = rng.choice([36, 38, 40, 41, 43, 45])
        chord = [root + 12 + k for k in (0, 4, 7, 12)]
        for k, pitch in enumerate([root] + chord):
            on = now + k * rng.randint(3, 15)
            events += [(on, 1, mido.Message("note_on", note=pitch, velocity=rng.randint(30, 90))),
                       (on + rng.randint(TPQ // 2, 2 * TPQ), 0, mido.Message("note_off", note=pitch, velocity=0))]
        for i in range(4):
            on = max(0, now + i * beat // 4 + rng.randint(-8, 8))
            pitch = rng.choice(chord) + 12 + rng.choice([0, 2, -1])
            events += [(on, 1, mido.Message("note_on", note=pitch, velocity=rng.randint(50, 110))),
                       (on + rng.randint(40, beat // 3), 0, mido.Message("note_off", note=pitch, velocity=0))]
        if rng.random() < 0.5:
            events += [(now, 0, mido.Message("control_change", control=64, value=0)),
                       (now + 20, 1, mido.Message("control_change", control=64, value=127))]
        now += beat
    midi.tracks.append(_track(events))
    return midi


def build_parts(
    tracks: Iterable[tuple[str, int, int, Iterable[Note]]],
    tempos: Iterable[tuple[int, float]] = ((0, 120.0),),
    type0: bool = False,
) -> mido.MidiFile:
    """Named tracks of (name, channel, program, notes) after a conductor track; ``type0`` puts everything in one
    track (the names are lost, the channels and programs stay)."""
    conductor = [(t, 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))) for t, bpm in tempos]
    per_track = []
    for name, channel, program, notes in tracks:
        events = [(0, -2, mido.MetaMessage("track_name", name=name)),
                  (0, -1, mido.Message("program_change", channel=channel, program=program))]
        for on, off, pitch, _ in notes:
            events.append((on, 1, mido.Message("note_on", channel=channel, note=pitch, velocity=80)))
            events.append((off, 0, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))
        per_track.append(events)
    midi = mido.MidiFile(type=0 if type0 else 1, ticks_per_beat=TPQ)
    if type0:
        merged = conductor + [e for events in per_track for e in events if e[1] != -2]
        midi.tracks.append(_track(merged))
        return midi
    midi.tracks.append(_track(conductor))
    midi.tracks.extend(_track(events) for events in per_track)
    return midi


def _kit(bars: int, rng: random.Random) -> list[Note]:
    """Kick, snare, 16th hats, a tom fill every fourth bar and crashes, all inside the GM drum map (35-81)."""
    notes: list[Note] = []
    for b in range(bars):
        t0 = b * 4 * TPQ
        notes += [(t0 + i * TPQ // 4, t0 + i * TPQ // 4 + 30, 42 if i % 4 else 46, DRUMS) for i in range(16)]
        notes += [(t0 + i * TPQ, t0 + i * TPQ + 60, 36 if i % 2 == 0 else 38, DRUMS) for i in range(4)]
        if b % 4 == 3:
            toms = [41, 43, 45, 47, 48, 50]
            notes += [(t0 + 3 * TPQ + i * TPQ // 6, t0 + 3 * TPQ + i * TPQ // 6 + 40, rng.choice(toms), DRUMS)
                      for i in range(6)]
        if b % 4 == 0:
            notes.append((t0, t0 + TPQ, rng.choice([49, 57]), DRUMS))
    return notes


def band_15_programs() -> mido.MidiFile:
    """15 melodic tracks, each its own program and channel, plus a drum kit, under a tempo change every two bars."""
    rng = random.Random(31)
    bars = 24
    programs = [0, 4, 19, 24, 27, 33, 40, 42, 48, 56, 61, 65, 71, 73, 81]
    tracks = [("Drums", DRUMS, 0, _kit(bars, rng))]
    for k, program in enumerate(programs):
        channel = k if k < DRUMS else k + 1
        step = [TPQ // 2, TPQ, TPQ // 3, 2 * TPQ][k % 4]
        low = 36 + (k * 3) % 40
        count = bars * 4 * TPQ // step
        notes = [(i * step, i * step + step - 20, low + rng.randrange(0, 19), channel) for i in range(count)]
        tracks.append((f"Part {program}", channel, program, notes))
    tempos = [(b * 8 * TPQ, float(rng.randrange(70, 150))) for b in range(bars // 2)]
    return build_parts(tracks, tempos)


def same_program_tracks() -> mido.MidiFile:
    """Four piano tracks and two guitar tracks, on six channels: the pianos double each other at the unison
    (one holds longer), a guitar re-strikes a pitch the other holds; tempo 84 then 126."""
    rng = random.Random(32)
    line = _melody(48, TPQ // 2, TPQ // 2, seed=33)
    pianos = [
        ("Piano RH", 0, 0, line),
        ("Piano RH double", 1, 0, [(on, off + (TPQ // 2 if i % 3 == 0 else 0), p, 1)
                                   for i, (on, off, p, _) in enumerate(line)]),
        ("Piano LH", 2, 0, [(i * TPQ, i * TPQ + TPQ - 10, rng.randrange(40, 55), 2) for i in range(24)]),
        ("Piano chords", 3, 0, [(i * 2 * TPQ, i * 2 * TPQ + 2 * TPQ, p, 3) for i in range(12) for p in (60, 64, 67)]),
    ]
    held = [(i * 2 * TPQ, i * 2 * TPQ + 2 * TPQ, 52, 4) for i in range(12)]
    restrike = [(i * 2 * TPQ + TPQ, i * 2 * TPQ + TPQ + TPQ // 2, 52, 5) for i in range(12)]
    guitars = [("Guitar 1", 4, 25, held), ("Guitar 2", 5, 25, restrike)]
    return build_parts(pianos + guitars, ((0, 84.0), (12 * TPQ, 126.0)))


def drum_kit() -> mido.MidiFile:
    """32 bars of a full kit (hats, kick, snare, tom fills, crashes) over a bass line, at 132 bpm."""
    rng = random.Random(34)
    bass = [(i * TPQ // 2, i * TPQ // 2 + 200, rng.choice([33, 36, 38, 40, 43]), 0) for i in range(32 * 8)]
    return build_parts([("Bass", 0, 33, bass), ("Kit", DRUMS, 0, _kit(32, rng))], ((0, 132.0),))


def type0_channels() -> mido.MidiFile:
    """A type-0 file (one track): organ, strings and drums on three channels, whose channels become the parts."""
    rng = random.Random(35)
    organ = [(i * TPQ, i * TPQ + TPQ, p, 0) for i in range(32) for p in (48, 55)]
    strings = _melody(64, TPQ // 2, TPQ // 2 - 20, channel=1, seed=36)
    return build_parts([("Organ", 0, 19, organ), ("Strings", 1, 48, strings), ("Drums", DRUMS, 0, _kit(8, rng))],
                       ((0, 100.0),), type0=True)


CASES: dict[str, Callable[[], mido.MidiFile]] = {
    "tempo-every-beat": tempo_every_beat,
    "tempo-off-grid": tempo_off_grid,
    "time-signatures": time_signature_changes,
    "off-grid-pickup": off_grid_pickup,
    "staccato": staccato,
    "expressive-jitter": expressive_jitter,
    "unisons-12-tracks": unisons_12_tracks,
    "drums": drums,
    "pop-14-tracks": pop_arrangement,
    "piano-performance": piano_performance,
    "band-15-programs": band_15_programs,
    "same-program-tracks": same_program_tracks,
    "drum-kit": drum_kit,
    "type0-channels": type0_channels,
}


def write_cases(folder: Path) -> dict[str, Path]:
    """Write every case as ``<name>.mid`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, make in CASES.items():
        paths[name] = folder / f"{name}.mid"
        make().save(paths[name])
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    for name, path in write_cases(parser.parse_args().out).items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
