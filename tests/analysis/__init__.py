"""Tests of the analysis layer: pure functions on literal and generated series."""
