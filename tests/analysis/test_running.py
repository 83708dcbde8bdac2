"""The README leak heuristic and running means, on literal series."""

from __future__ import annotations

import unittest

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.analysis.running import RunningHeuristic, RunningMeans, readme_heuristic


def series_with(rises: int, flats: int, start: int = 1000) -> list[int]:
    """A series that rises by one in `rises` steps and stays level in `flats` steps, never falling."""
    values = [start]
    for step in ["up"] * rises + ["flat"] * flats:
        values.append(values[-1] + (1 if step == "up" else 0))
    return values


class ReadmeHeuristicTest(unittest.TestCase):
    def test_strictly_increasing_ten_samples_is_a_leak(self) -> None:
        """Exactly 10 samples, every step up: the rule fires."""
        result = readme_heuristic(list(range(10)))
        self.assertTrue(result.enough_samples)
        self.assertTrue(result.leak)
        self.assertEqual((result.steps_up, result.steps_down, result.steps), (9, 0, 9))

    def test_nine_samples_are_too_few(self) -> None:
        """Under 10 samples the rule does not judge, however steep the rise."""
        result = readme_heuristic(list(range(9)))
        self.assertFalse(result.enough_samples)
        self.assertFalse(result.leak)

    def test_exactly_66_percent_is_not_more_than_66(self) -> None:
        """33 rises in 50 steps is 66%, not more: no leak; 34 rises is 68%: leak."""
        self.assertFalse(readme_heuristic(series_with(33, 17)).leak)
        self.assertTrue(readme_heuristic(series_with(34, 16)).leak)

    def test_two_thirds_of_nine_steps_is_above_66_percent(self) -> None:
        """6 rises in 9 steps is 66.7%: above the bound, a leak."""
        self.assertTrue(readme_heuristic(series_with(6, 3)).leak)
        self.assertFalse(readme_heuristic(series_with(5, 4)).leak)

    def test_plateau_is_not_a_leak(self) -> None:
        """A rise that then stays level for most steps stays under the bound."""
        self.assertFalse(readme_heuristic([1, 2, 3, 4] + [4] * 16).leak)

    def test_one_dip_vetoes_the_leak(self) -> None:
        """A single step down, in an otherwise rising series, means no leak."""
        values = list(range(20))
        values[10] = values[9] - 1
        result = readme_heuristic(values)
        self.assertEqual(result.steps_down, 1)
        self.assertFalse(result.leak)

    def test_constant_is_not_a_leak(self) -> None:
        """A flat series never rises."""
        result = readme_heuristic([5000] * 30)
        self.assertEqual(result.steps_up, 0)
        self.assertFalse(result.leak)


class RunningMeansTest(unittest.TestCase):
    def test_means_match_the_plain_average(self) -> None:
        """Running means equal sum / count for each metric."""
        means = RunningMeans(("a", "b"))
        for a, b in [(1, 10), (2, 20), (6, 60)]:
            means.add((a, b))
        self.assertEqual(means.means(), {"a": 3.0, "b": 30.0})

    def test_no_sample_gives_zero(self) -> None:
        """Before any sample the means are zero, not a division error."""
        self.assertEqual(RunningMeans(("a",)).means(), {"a": 0.0})


if __name__ == "__main__":
    unittest.main()


class RunningHeuristicTest(unittest.TestCase):
    @given(st.lists(st.one_of(st.none(), st.integers(0, 5)), max_size=40))
    @settings(max_examples=60, deadline=None)
    def test_running_rule_leaves_out_missing_values_as_the_whole_run_rule_does(self, values: list) -> None:
        """Fed one value at a time, with None for a missing one, the rule ends where the whole-run rule does."""
        running = RunningHeuristic()
        for value in values:
            result = running.add(value)
        present = [value for value in values if value is not None]
        whole = readme_heuristic(present)
        self.assertEqual(running.result(), whole)
        if values:
            self.assertEqual(result, whole)
