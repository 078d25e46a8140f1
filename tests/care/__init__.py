"""Tests of the care domain."""
