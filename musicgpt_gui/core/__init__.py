"""Qt-free domain logic: music, models and MIDI. Never import Qt here (tests/core/test_contract.py)."""
