"""Tests of the sampling layer: finding, identifying and reading processes, on real processes."""
