"""Statistics kept one sample at a time in O(1): running means and the README leak heuristic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

HEURISTIC_MIN_SAMPLES = 10
HEURISTIC_RISE_PERCENT = 66


class RunningMeans:
    """Means of several metrics kept in O(1) per sample; a missing value (None) is left out of its mean."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        # A sum and a count per metric, in the names' order: two lists, no dict per sample.
        self._counts = [0] * len(self.names)
        self._sums = [0.0] * len(self.names)

    def add(self, values: Sequence[float | None]) -> None:
        """Fold one sample in."""
        sums, counts = self._sums, self._counts
        for i, value in enumerate(values):
            if value is not None:
                sums[i] += value
                counts[i] += 1

    def mean(self, index: int) -> float | None:
        """The mean of the metric at `index`: 0.0 before any sample, None for a metric never given."""
        count = self._counts[index]
        if count:
            return self._sums[index] / count
        return None if any(self._counts) else 0.0

    def means(self) -> dict[str, float | None]:
        """The current mean of each metric, by name."""
        return {name: self.mean(index) for index, name in enumerate(self.names)}


@dataclass(frozen=True)
class HeuristicResult:
    """The README rule's view of a memory series."""

    samples: int
    steps_up: int
    steps_down: int

    @property
    def enough_samples(self) -> bool:
        """The rule judges only series of at least 10 samples."""
        return self.samples >= HEURISTIC_MIN_SAMPLES

    @property
    def steps(self) -> int:
        """Consecutive pairs in the series."""
        return max(self.samples - 1, 0)

    @property
    def leak(self) -> bool:
        """No step down and more than 66% of the steps strictly up."""
        return (
            self.enough_samples and self.steps_down == 0 and self.steps_up * 100 > HEURISTIC_RISE_PERCENT * self.steps
        )


class RunningHeuristic:
    """The README rule kept up to date one sample at a time, in O(1) per sample."""

    def __init__(self) -> None:
        self._previous: float | None = None
        self._samples = self._up = self._down = 0

    def add(self, value: float | None) -> HeuristicResult:
        """Fold one sample in and return the rule's view of the series so far; a missing value is left out."""
        if value is None:
            # As the whole-run rule does with an empty cell: no step to or from it.
            return self.result()
        if self._previous is not None:
            if value > self._previous:
                self._up += 1
            elif value < self._previous:
                self._down += 1
        self._previous = value
        self._samples += 1
        return self.result()

    def result(self) -> HeuristicResult:
        """The rule's view of the series so far."""
        return HeuristicResult(samples=self._samples, steps_up=self._up, steps_down=self._down)


def readme_heuristic(values: Sequence[float] | np.ndarray) -> HeuristicResult:
    """Apply the README rule to a whole series: at least 10 samples, never down, strictly up in over 66% of steps."""
    steps = np.diff(np.asarray(values, dtype=float))
    return HeuristicResult(
        samples=len(steps) + 1 if len(values) else 0, steps_up=int((steps > 0).sum()), steps_down=int((steps < 0).sum())
    )
