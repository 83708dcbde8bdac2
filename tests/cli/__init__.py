"""Tests of the command line: options, modes and their errors."""
