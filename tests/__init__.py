"""Test package (lets suites import shared helpers such as tests.ui.helpers)."""
