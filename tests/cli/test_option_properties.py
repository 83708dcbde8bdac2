"""Properties of the option parser on any text a user may type: a value it can use, or one line naming the fix."""

from __future__ import annotations

import math
import unittest

from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitor.cli.options import AnalyzeOptions, WatchOptions, parse_options
from monitor.errors import UsageError
from monitor.metrics import HANDLES, MEMORY

SIZES = {"": None, "B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4}
PER_HOUR = {"s": 3600.0, "min": 60.0, "h": 1.0, "d": 1 / 24}
# Text as typed: digits, units, signs, separators and anything else.
TYPED = st.text(st.sampled_from("0123456789.-+eE/ iIbBkKmMgGtThHdDsnN\t\n,x"), max_size=14) | st.text(max_size=8)


class OptionTextProperties(unittest.TestCase):
    def assert_one_line_naming(self, error: UsageError, option: str) -> None:
        message = str(error)
        self.assertIn(option, message)
        self.assertEqual(len(message.splitlines()), 1, message)

    @settings(max_examples=300, deadline=None)
    @given(TYPED)
    @example("5MiB")
    @example("10")
    @example("1e999/h")
    def test_any_min_leak_rate_is_a_positive_rate_or_one_line(self, text: str) -> None:
        """Whatever follows --min-leak-rate= gives a finite rate above 0 for one metric, or one usage line."""
        try:
            options = parse_options(["-p", "x", "-d", "5", f"--min-leak-rate={text}"])
        except UsageError as error:
            self.assert_one_line_naming(error, "--min-leak-rate")
            return
        assert isinstance(options, WatchOptions)
        ((metric, rate),) = options.min_leak_rates
        self.assertIn(metric, (MEMORY, HANDLES))
        self.assertTrue(math.isfinite(rate) and rate > 0, rate)

    @settings(max_examples=200, deadline=None)
    @given(
        st.decimals(min_value="0.001", max_value="100000", places=3),
        st.sampled_from(sorted(SIZES)),
        st.sampled_from(sorted(PER_HOUR)),
    )
    def test_a_rate_with_its_units_is_read_as_written(self, number: object, size: str, per: str) -> None:
        """NUMBER[SIZE]/TIME is NUMBER x SIZE per TIME, as a rate per hour; a size makes it memory's."""
        options = parse_options(["--analyze", "a.csv", f"--min-leak-rate={number}{size}/{per}"])
        assert isinstance(options, AnalyzeOptions)
        ((metric, rate),) = options.min_leak_rates
        scale = SIZES[size]
        self.assertEqual(metric, MEMORY if scale else HANDLES)
        expected = float(str(number)) * (scale or 1) * PER_HOUR[per]
        self.assertAlmostEqual(rate, expected, delta=1e-9 * expected)

    @settings(max_examples=300, deadline=None)
    @given(TYPED, TYPED)
    @example("0.3", "0.1")
    @example("1e308", "1e-308")
    def test_any_duration_and_interval_make_a_schedule_or_one_line(self, duration: str, interval: str) -> None:
        """-d and -s as typed: a finite schedule of at least one sample, or one usage line naming the option."""
        try:
            options = parse_options(["-p", "x", f"-d={duration}", f"-s={interval}"])
        except UsageError as error:
            message = str(error)
            self.assertEqual(len(message.splitlines()), 1, message)
            self.assertTrue(any(name in message for name in ("-d", "-s", "duration", "interval")), message)
            return
        assert isinstance(options, WatchOptions)
        self.assertTrue(math.isfinite(options.duration_s) and options.duration_s > 0)
        self.assertTrue(math.isfinite(options.interval_s) and 0 < options.interval_s <= options.duration_s)
        self.assertGreaterEqual(options.sample_count, 1)
