"""Pure functions over samples: running statistics, the README heuristic, trend verdicts, run summaries."""
