"""The built-in synth, checked on the audio it renders (FFT, envelopes), with the real SoundFont."""

from __future__ import annotations

import time

import mido
import numpy as np
import pytest

from musicgpt_gui.core.jobs import JobError
from musicgpt_gui.core.midi import soundfont
from musicgpt_gui.core.midi.instruments import with_instrument_programs
from musicgpt_gui.core.midi.midi_io import render_midi
from musicgpt_gui.core.midi.playback import Player
from musicgpt_gui.core.midi.synth import SILENCE, SoundFontSynth, read_wav, render_audio, render_pcm
from musicgpt_gui.core.music.notation import parse_text
from musicgpt_gui.core.music.tempo_map import TempoMap

RATE = 44100
C_MAJOR = {"C4": 261.63, "E4": 329.63, "G4": 392.00}

try:
    soundfont.find_soundfont()
except JobError:
    # Fails, never skips (like the JACK tests): a skipped audio suite would pass CI unnoticed.
    pytest.fail("no General MIDI SoundFont installed (scripts/install.sh installs timgm6mb-soundfont)", pytrace=False)


def spectrum(pcm: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    mono = pcm.mean(axis=1)
    magnitude = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return np.fft.rfftfreq(len(mono), 1 / rate), magnitude


def strongest_peaks(freqs: np.ndarray, magnitude: np.ndarray, low: float, high: float, count: int) -> list[float]:
    band = (freqs >= low) & (freqs <= high)
    f, m = freqs[band], magnitude[band]
    local = np.flatnonzero((m[1:-1] > m[:-2]) & (m[1:-1] >= m[2:])) + 1
    best = local[np.argsort(m[local])[::-1][:count]]
    return sorted(float(f[i]) for i in best)


def test_rendered_chord_peaks_at_its_fundamentals(tmp_path):
    out = render_audio("tempo=60, C4 E4 G4:2", tmp_path / "chord.wav")
    pcm, rate = read_wav(out)
    assert rate == RATE and pcm.shape[1] == 2
    assert np.abs(pcm).max() > 0.05
    freqs, magnitude = spectrum(pcm[: 2 * rate], rate)
    peaks = strongest_peaks(freqs, magnitude, 200, 500, 3)
    for expected, found in zip(sorted(C_MAJOR.values()), peaks):
        assert abs(found - expected) / expected < 0.01, (peaks, C_MAJOR)


def test_stop_and_all_notes_off_leave_silence():
    synth = SoundFontSynth()
    player = Player(synth)
    player.load(render_midi("C3 E3 G3 C4:8"))
    player.play()
    time.sleep(0.2)
    assert np.abs(synth.pull(RATE // 10)).max() > 0.01  # it sounds while playing
    player.stop()
    synth.pull(RATE)  # one second for the releases to fade
    assert np.abs(synth.pull(RATE // 5)).max() < SILENCE


def test_a_program_changes_the_spectrum():
    piano = render_pcm("tempo=60, A3:2")
    violin = render_pcm(with_instrument_programs("Violin, tempo=60, A3:2"))
    freqs, p = spectrum(piano[:RATE], RATE)
    _, v = spectrum(violin[:RATE], RATE)
    similarity = float(np.dot(p, v) / (np.linalg.norm(p) * np.linalg.norm(v)))
    assert similarity < 0.8
    for magnitude in (p, v):  # both still play the same A (220 Hz)
        assert any(abs(f - 220) / 220 < 0.01 for f in strongest_peaks(freqs, magnitude, 100, 2000, 3))


def test_instrument_names_choose_programs_and_explicit_ones_win():
    assert with_instrument_programs("C4, E4") == "C4, E4"
    assert with_instrument_programs("Violin, C4:1") == "Violin, program=40, C4:1"
    parsed = parse_text(with_instrument_programs("Flute, C4:1, program=0, D4:1"))
    assert [n.program for n in parsed.notes] == [73, 0]


def test_onsets_follow_the_tempo_map():
    text = (  # xylophone strikes (short, clean attacks) across three tempo changes
        "program=13, tempo=120, rest:1, C5:0.25, rest:1.75, E5:0.25, tempo=75, rest:1.75, G5:0.25, rest:1.75, "
        "tempo=200, C6:0.25, rest:2"
    )
    parsed = parse_text(text)
    tempo_map = TempoMap.from_marks(parsed.tempos)
    expected = [tempo_map.seconds_at(n.onset) for n in parsed.notes]
    pcm = render_pcm(text)
    envelope = np.abs(pcm).max(axis=1)
    threshold = 0.05 * envelope.max()
    for seconds in expected:
        start = int((seconds - 0.05) * RATE)
        window = envelope[start : start + int(0.1 * RATE)]
        assert window[: int(0.02 * RATE)].max() < threshold  # quiet before the note
        onset = (start + int(np.argmax(window > threshold))) / RATE
        assert abs(onset - seconds) < 0.005, (onset, seconds)


def test_bad_soundfont_and_rate_are_plain_errors(tmp_path):
    with pytest.raises(JobError, match="does not exist"):
        SoundFontSynth(tmp_path / "none.sf2")
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"not a soundfont")
    with pytest.raises(JobError, match="Cannot load SoundFont"):
        SoundFontSynth(bad)
    with pytest.raises(JobError, match="Sample rate"):
        SoundFontSynth(sample_rate=10)
    with pytest.raises(JobError, match=".wav"):
        render_audio("C4", tmp_path / "x.mp3")


def test_remembered_soundfont(tmp_path):
    choice = tmp_path / soundfont.CHOICE_FILE
    assert soundfont.load_choice(choice) is None
    found = soundfont.find_soundfont()
    soundfont.save_choice(choice, found)
    assert soundfont.load_choice(choice) == found


def test_midi_file_renders_like_its_text():
    midi = mido.MidiFile()
    track = mido.MidiTrack(
        [
            mido.Message("note_on", note=69, velocity=100, time=0),
            mido.Message("note_off", note=69, velocity=0, time=midi.ticks_per_beat),
        ]
    )
    midi.tracks.append(track)
    pcm = render_pcm(midi)
    freqs, magnitude = spectrum(pcm[: RATE // 2], RATE)
    assert any(abs(f - 440) / 440 < 0.01 for f in strongest_peaks(freqs, magnitude, 300, 1000, 2))


def test_each_part_sounds_on_its_own_program_and_drums_on_the_kit():
    header = "@1=Keys program=0, @2=Strings program=40, tempo=60"
    keys = render_pcm(f"{header}, @1 A3:2, @2 A3:2")[:RATE]  # the second second is both: only the first is compared
    strings = render_pcm(f"{header}, @2 A3:2, @1 A3:2")[:RATE]
    alone = render_pcm("tempo=60, A3:2")[:RATE]  # no parts: piano
    freqs, k = spectrum(keys, RATE)
    _, s = spectrum(strings, RATE)
    _, a = spectrum(alone, RATE)

    def similarity(x: np.ndarray, y: np.ndarray) -> float:
        return float(np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y)))

    band = (freqs > 150) & (freqs < 2000)  # where A3's partials are
    assert similarity(k[band], a[band]) > 0.9 > 0.8 > similarity(s[band], a[band])
    kick = render_pcm("@1=Kit drums=0, tempo=60, C2:1")[:RATE]
    tone = render_pcm("@1=Keys program=0, tempo=60, C2:1")[:RATE]
    _, d = spectrum(kick, RATE)
    _, t = spectrum(tone, RATE)
    assert similarity(d, t) < 0.8
