"""Recorded command outputs for the platform tests (Windows ones cannot be produced here)."""
