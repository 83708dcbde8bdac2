"""Pure functions over samples: running statistics, the README heuristic, trend verdicts, run summaries."""

from monitor.analysis.running import readme_heuristic

__all__ = ["readme_heuristic"]
