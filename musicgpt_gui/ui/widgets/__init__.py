"""Reusable widgets: piano roll, loss chart, MIDI port picker."""
