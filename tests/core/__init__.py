"""Test package (lets suites share fixtures: tests.core.conftest)."""
