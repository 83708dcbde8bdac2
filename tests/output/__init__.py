"""Tests of the output layer: sinks, text, files, charts and saved reports."""
