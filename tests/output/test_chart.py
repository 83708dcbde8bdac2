"""The chart: every series visible at every length, data above the trend, sensible axes, legends beside the panels."""

from __future__ import annotations

import unittest
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from monitor.analysis.summary import analyze
from monitor.analysis.trend import Verdict
from monitor.metrics import BY_COLUMN, CPU, ELAPSED, HANDLES, MEMORY, READ_RATE, RESIDENT, THREADS, WRITE_RATE
from monitor.output.chart import MAX_BINS, chart_panels, chart_title, draw_chart, envelope, value_limits

if TYPE_CHECKING:
    from matplotlib.typing import ColorType

LONG_TITLE = (
    "command 'python tests/workloads/workload.py --leak-mib-per-s 3 --seconds 60 --name a-rather-long-name "
    "--children 4 --child-name another-long-name', 2026-11-28 15:33:57, every 0.5 s"
)
MIB = 2**20
# A pixel shows a colour when it is that colour over white at some opacity, each channel within this (of 1).
COLOUR_TOLERANCE = 0.1
# A line 1.7 pixels wide covers at least this much of some pixel of each column it crosses; the band under it
# (a quarter opaque, its outline 0.6) and the averages (0.6) stay below.
LINE_OPACITY = 0.75


def _leaking_frame(samples: int = 40) -> pd.DataFrame:
    seconds = np.arange(samples) * 0.5
    return pd.DataFrame(
        {
            ELAPSED: seconds,
            CPU: np.where(np.arange(samples) % 5 == 0, 6.0, 0.0),
            MEMORY: 10e6 + 3 * MIB * seconds,
            HANDLES: np.full(samples, 5.0),
        }
    )


def _steady_frame(samples: int = 6000) -> pd.DataFrame:
    """`-d 60 -s 0.01` of an idle process: every metric constant, CPU at 0."""
    return pd.DataFrame(
        {
            ELAPSED: np.arange(samples) * 0.01,
            CPU: np.zeros(samples),
            MEMORY: np.full(samples, 8e6),
            HANDLES: np.full(samples, 5.0),
            RESIDENT: np.full(samples, 15e6),
            THREADS: np.full(samples, 1.0),
        }
    )


def _small_leak_in_large_resident_frame(samples: int = 30000) -> pd.DataFrame:
    """Five minutes at `-s 0.01`: private memory leaks 2 to 8 MiB under a sawtooth; resident memory is ~400 MiB."""
    seconds = np.arange(samples) * 0.01
    private = 2 * MIB + 20 * 1024 * seconds + (np.arange(samples) % 100) * 4096
    return pd.DataFrame(
        {
            ELAPSED: seconds,
            CPU: np.where(np.arange(samples) % 50 == 0, 6.0, 0.0),
            MEMORY: private,
            HANDLES: np.full(samples, 5.0),
            RESIDENT: 400 * MIB + private,
            THREADS: np.full(samples, 1.0),
        }
    )


def _draw(frame: pd.DataFrame, title: str = "chart") -> Figure:
    import matplotlib.pyplot as plt

    figure = draw_chart(frame, analyze(frame), title)
    figure.canvas.draw()
    unittest.addModuleCleanup(plt.close, figure)
    return figure


def _drawn(axis: Axes, kind: str) -> dict[str, Line2D]:
    """The panel's lines of one kind (data, average, trend), by column."""
    lines = {}
    for line in axis.get_lines():
        found, _, column = (line.get_gid() or "").partition(":")
        if found == kind:
            lines[column] = line
    return lines


def _panel(figure: Figure, column: str) -> Axes:
    (axis,) = [axis for axis in figure.axes if column in _drawn(axis, "data")]
    return axis


def _panel_pixels(figure: Figure, axis: Axes) -> np.ndarray:
    """The RGB pixels drawn inside the panel's frame (a pixel in from it), rows from the top."""
    canvas = figure.canvas
    assert isinstance(canvas, FigureCanvasAgg)
    pixels = np.asarray(canvas.buffer_rgba())[:, :, :3].astype(float) / 255
    box = axis.get_window_extent()
    # Display coordinates start at the bottom, image rows at the top.
    top, bottom = int(pixels.shape[0] - box.y1) + 1, int(pixels.shape[0] - box.y0) - 1
    return pixels[top:bottom, int(box.x0) + 1 : int(box.x1) - 1]


def _opacity_of(pixels: np.ndarray, colour: ColorType) -> np.ndarray:
    """How opaque `colour` is in each pixel, drawn over the white background (0 where the pixel is another colour)."""
    ink = np.subtract(1.0, to_rgb(colour))
    darkening = 1.0 - pixels
    opacity = np.clip(darkening @ ink / (ink @ ink), 0.0, 1.0)
    off_colour = np.abs(darkening - opacity[..., None] * ink).max(axis=-1) > COLOUR_TOLERANCE
    return np.where(off_colour, 0.0, opacity)


def _columns_showing(figure: Figure, axis: Axes, colour: ColorType, opacity: float) -> np.ndarray:
    """For each pixel column of the panel, whether a pixel in it shows `colour` at least that opaque."""
    return np.asarray((_opacity_of(_panel_pixels(figure, axis), colour) >= opacity).any(axis=0))


def _spanned(axis: Axes, shown: np.ndarray, line: Line2D) -> np.ndarray:
    """The part of a per-column array that lies under the line, less two columns at each end."""
    x = np.asarray(line.get_xdata(), dtype=float)
    left = axis.get_window_extent().x0 + 1
    start, end = (axis.transData.transform((value, 0))[0] - left for value in (x[0], x[-1]))
    return shown[int(start) + 2 : int(end) - 2]


class DrawnChartCase(unittest.TestCase):
    """A figure drawn once per class, and the check that each series of each panel shows across the whole run."""

    figure: Figure
    frame: pd.DataFrame

    def assert_every_series_shows(self) -> None:
        seconds = self.frame[ELAPSED].to_numpy()
        label = self.figure.axes[-1].get_xlabel()
        time_size = {"(s)": 1.0, "(min)": 60.0, "(h)": 3600.0}[label[label.rindex("(") :]]
        slack = (seconds[-1] - seconds[0]) / MAX_BINS  # one slice of the run
        for axis in self.figure.axes:
            lines = _drawn(axis, "data")
            self.assertTrue(lines, f"panel {axis.get_ylabel()!r} draws no data line")
            bottom, top = axis.get_ylim()
            for column, line in lines.items():
                with self.subTest(column=column):
                    x, y = (np.asarray(values, dtype=float) for values in line.get_data())
                    self.assertTrue(line.get_visible())
                    self.assertGreater(line.get_linewidth(), 0)
                    self.assertTrue(np.isfinite(y).all())
                    self.assertLessEqual(x[0] * time_size, seconds[0] + slack)
                    self.assertGreaterEqual(x[-1] * time_size, seconds[-1] - slack)
                    # Strictly inside the limits, not on the frame.
                    self.assertGreater(y.min(), bottom)
                    self.assertLess(y.max(), top)
                    # And really drawn: the line's colour, nearly opaque, in (nearly) every pixel column it spans.
                    spanned = _spanned(axis, _columns_showing(self.figure, axis, line.get_color(), LINE_OPACITY), line)
                    self.assertGreater(spanned.mean(), 0.95, f"{column} shows in {spanned.mean():.0%} of its columns")


class LongSteadyChartTest(DrawnChartCase):
    """6,000 samples of an idle process (`-d 60 -s 0.01`): every metric constant, drawn from slices."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.frame = _steady_frame()
        cls.figure = _draw(cls.frame)

    def test_every_panel_shows_a_line_across_the_run(self) -> None:
        """A flat series over 2,000 samples is a line in every panel, not a band of no height that draws nothing."""
        self.assertEqual(len(self.figure.axes), 5)
        self.assert_every_series_shows()

    def test_flat_axes_read_from_zero(self) -> None:
        """CPU at 0, 8 MB of memory, 5 handles and 1 thread: each axis has ticks from 0 up and none below."""
        for axis in self.figure.axes:
            with self.subTest(panel=axis.get_ylabel()):
                bottom, top = axis.get_ylim()
                ticks = [tick for tick in axis.get_yticks() if bottom <= tick <= top]
                self.assertGreaterEqual(min(ticks), 0)
                self.assertGreaterEqual(len(ticks), 2)
                self.assertGreaterEqual(bottom, -0.06 * (top - bottom), "more than a margin below 0")
        cpu = _panel(self.figure, CPU)
        self.assertEqual(min(t for t in cpu.get_yticks() if t >= cpu.get_ylim()[0]), 0.0)
        self.assertGreaterEqual(cpu.get_ylim()[1], 1.0)

    def test_counts_have_whole_number_ticks(self) -> None:
        """A flat count of 1 thread gets whole-number ticks from 0, and its line is strictly inside them."""
        axis = _panel(self.figure, THREADS)
        bottom, top = axis.get_ylim()
        ticks = [tick for tick in axis.get_yticks() if bottom <= tick <= top]
        self.assertTrue(all(float(tick).is_integer() for tick in ticks), ticks)
        self.assertEqual(ticks[0], 0)
        self.assertIn(1, ticks)

    def test_a_lone_spike_shows_at_its_height(self) -> None:
        """One sample of 100 % CPU among 6,000 at 0 is drawn up to the top of its panel, not as a faint hairline."""
        frame = self.frame.copy()
        frame.loc[3001, CPU] = 100.0
        figure = _draw(frame)
        axis = _panel(figure, CPU)
        self.assertGreater(axis.get_ylim()[1], 100.0)
        pixels = _panel_pixels(figure, axis)
        colour = _drawn(axis, "data")[CPU].get_color()
        # The top tenth of the panel: only the spike reaches there.
        self.assertGreaterEqual(_opacity_of(pixels[: len(pixels) // 10], colour).max(), 0.5)


class LongLeakChartTest(DrawnChartCase):
    """Five minutes at `-s 0.01` of a small private leak in a process whose resident memory is 50-200 times larger."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.frame = _small_leak_in_large_resident_frame()
        analysis = analyze(cls.frame)
        assert analysis.leaks[MEMORY].trend.verdict is Verdict.LEAK, "the frame must draw a leak trend"
        cls.figure = _draw(cls.frame)

    def test_every_panel_shows_a_line_across_the_run(self) -> None:
        """Private memory under its leak trend and resident memory both show as lines across the run."""
        self.assert_every_series_shows()

    def test_data_is_drawn_above_the_leak_trend(self) -> None:
        """The private memory line is drawn above the trend line, and the trend still shows beside it."""
        axis = _panel(self.figure, MEMORY)
        data, trend = _drawn(axis, "data")[MEMORY], _drawn(axis, "trend")[MEMORY]
        self.assertGreater(data.get_zorder(), trend.get_zorder())
        # The trend's own colour and opacity, seen beside the data line all along it.
        opacity = 0.8 * (trend.get_alpha() or 1.0)
        spanned = _spanned(axis, _columns_showing(self.figure, axis, trend.get_color(), opacity), trend)
        self.assertGreater(spanned.mean(), 0.95, f"the trend shows in {spanned.mean():.0%} of its columns")

    def test_private_memory_keeps_its_own_scale(self) -> None:
        """Private memory (2-8 MiB) fills most of its panel's height though resident memory is ~400 MiB."""
        axis = _panel(self.figure, MEMORY)
        self.assertNotIn(RESIDENT, _drawn(axis, "data"))
        x, y = _drawn(axis, "data")[MEMORY].get_data()
        pixels = axis.transData.transform(np.column_stack([x, y]))[:, 1]
        self.assertGreater((pixels.max() - pixels.min()) / axis.get_window_extent().height, 0.5)
        self.assertEqual(axis.get_ylabel(), "Private memory (MiB)")
        self.assertEqual(_panel(self.figure, RESIDENT).get_ylabel(), "Resident memory (MiB)")


class ShortChartTest(DrawnChartCase):
    """40 samples of a fast leak, drawn sample by sample, with a title too long for one line."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.frame = _leaking_frame()
        cls.figure = _draw(cls.frame, LONG_TITLE)

    def test_every_panel_shows_a_line_across_the_run(self) -> None:
        """Each sample of a short run is on a line that shows in every panel."""
        self.assert_every_series_shows()

    def test_long_title_stays_inside_the_figure(self) -> None:
        """A 170-character command title is wrapped and drawn wholly inside the picture."""
        (title,) = self.figure.texts  # the suptitle is the figure's only text
        box = title.get_window_extent()
        picture = self.figure.bbox
        self.assertGreaterEqual(box.x0, picture.x0)
        self.assertLessEqual(box.x1, picture.x1)
        self.assertLessEqual(box.y1, picture.y1)
        self.assertIn("\n", title.get_text())

    def test_legends_sit_beside_the_panels(self) -> None:
        """No legend overlaps the plotting area of any panel, so no data is hidden under one."""
        for axis in self.figure.axes:
            drawn = axis.get_legend()
            assert drawn is not None
            legend = drawn.get_window_extent()
            self.assertFalse(legend.overlaps(axis.get_window_extent()), axis.get_ylabel())
            self.assertLessEqual(legend.x1, self.figure.bbox.x1, "legend cut off at the right edge")

    def test_handles_axis_has_whole_number_ticks(self) -> None:
        """A flat handle count of 5 gets ticks on whole numbers only."""
        (axis,) = [axis for axis in self.figure.axes if axis.get_ylabel() == BY_COLUMN[HANDLES].chart_title]
        low, high = axis.get_ylim()
        ticks = [tick for tick in axis.get_yticks() if low <= tick <= high]
        self.assertGreaterEqual(len(ticks), 2)
        self.assertTrue(all(float(tick).is_integer() for tick in ticks), ticks)


class ChartPanelsTest(unittest.TestCase):
    def test_resident_memory_has_its_own_panel_after_private_memory(self) -> None:
        """Resident memory is drawn in a panel of its own, right after the private memory panel."""
        frame = _leaking_frame().assign(**{RESIDENT: 30e6})
        panels = chart_panels(frame)
        self.assertEqual([name for name, _ in panels], ["cpu", "memory", RESIDENT, "handles"])
        self.assertEqual([m.column for m in dict(panels)["memory"]], [MEMORY])

    def test_io_panel_only_when_the_run_did_io(self) -> None:
        """Zero reads and writes draw no I/O panel; any write draws one with both rates."""
        quiet = _leaking_frame().assign(**{READ_RATE: 0.0, WRITE_RATE: 0.0})
        self.assertNotIn("io", dict(chart_panels(quiet)))
        busy = quiet.assign(**{WRITE_RATE: np.r_[np.zeros(39), 4096.0]})
        self.assertEqual([m.column for m in dict(chart_panels(busy))["io"]], [READ_RATE, WRITE_RATE])

    def test_old_report_without_added_columns_draws_the_readme_metrics(self) -> None:
        """A report with only the README's columns gets its three panels."""
        self.assertEqual([name for name, _ in chart_panels(_leaking_frame())], ["cpu", "memory", "handles"])


class ValueLimitsTest(unittest.TestCase):
    @settings(max_examples=200, deadline=None)
    @given(
        st.floats(0, 1e15, allow_nan=False),
        st.one_of(st.just(0.0), st.floats(0, 1e15, allow_nan=False)),
        st.booleans(),
    )
    def test_values_lie_strictly_inside_and_nothing_below_zero_but_the_margin(
        self, low: float, extra: float, whole_numbers: bool
    ) -> None:
        """Any non-negative range, flat or not, lies strictly inside limits that go below 0 by a margin at most."""
        high = low + extra
        bottom, top = value_limits(low, high, whole_numbers)
        self.assertLess(bottom, low)
        self.assertLess(high, top)
        self.assertGreaterEqual(bottom, -0.05 * (top - bottom))
        if whole_numbers:
            self.assertGreaterEqual(top - bottom, 4)

    def test_flat_series_sits_in_the_middle_of_an_axis_from_zero(self) -> None:
        """CPU at 0 gets 0 to 1 (with margins), not -0.04 to 0.04; 8 MiB gets 0 to 16 MiB; one thread 0 to 4."""
        self.assertEqual(value_limits(0.0, 0.0, False), (-0.05, 1.05))
        self.assertEqual(value_limits(8.0, 8.0, False), (-0.8, 16.8))
        self.assertEqual(value_limits(1.0, 1.0, True), (-0.2, 4.2))

    def test_a_varying_series_fills_its_axis(self) -> None:
        """400 to 401 MiB is drawn on 400-401 MiB plus margins, not from 0, so its changes can be read."""
        bottom, top = value_limits(400.0, 401.0, False)
        self.assertAlmostEqual(bottom, 399.95)
        self.assertAlmostEqual(top, 401.05)


class EnvelopeTest(unittest.TestCase):
    @settings(max_examples=100, deadline=None)
    @given(
        st.integers(1, 6000),
        st.lists(st.sampled_from([0.0, 0.01, 0.011, 2.0]), min_size=1, max_size=30),
        st.lists(st.one_of(st.floats(0, 1e12, allow_nan=False), st.just(float("nan"))), min_size=1, max_size=50),
    )
    def test_each_slice_holds_the_minimum_mean_and_maximum_of_its_samples(
        self, samples: int, steps: list[float], pattern: list[float]
    ) -> None:
        """A long series gives at most MAX_BINS slices, each with the low, mean and high of the samples in it."""
        x = np.cumsum(np.resize(np.array(steps), samples))  # uneven times, ties among them
        y = np.resize(np.array(pattern), samples)
        starts, low, mean, high = envelope(x, y)
        if samples <= MAX_BINS or x[-1] == x[0]:
            # Nothing to slice: the series itself, sample by sample.
            for values in (starts, low, mean, high):
                np.testing.assert_array_equal(values, x if values is starts else y)
            return
        self.assertLessEqual(len(starts), MAX_BINS)
        self.assertEqual(starts[0], x[0])
        slice_of = np.searchsorted(starts, x, side="right") - 1
        for index in range(len(starts)):
            values = y[slice_of == index]
            values = values[np.isfinite(values)]
            if len(values) == 0:
                self.assertTrue(np.isnan([low[index], mean[index], high[index]]).all())
                continue
            self.assertEqual(low[index], values.min())
            self.assertEqual(high[index], values.max())
            self.assertAlmostEqual(mean[index], values.mean(), delta=1e-9 * values.max())

    def test_flat_long_series_gives_a_flat_mean(self) -> None:
        """6,000 samples of 5 give 2,000 slices whose low, mean and high are all 5."""
        _, low, mean, high = envelope(np.arange(6000) * 0.01, np.full(6000, 5.0))
        self.assertEqual(len(mean), MAX_BINS)
        for values in (low, mean, high):
            self.assertTrue((values == 5.0).all())


class ChartTitleTest(unittest.TestCase):
    def test_short_title_is_kept_whole(self) -> None:
        """A title that fits one line is unchanged."""
        self.assertEqual(chart_title("'app', every 1 s"), "'app', every 1 s")

    def test_endless_title_is_cut_with_an_ellipsis(self) -> None:
        """A title of thousands of characters is cut to three lines ending in '...'."""
        text = chart_title("x " * 2000)
        self.assertEqual(len(text.splitlines()), 3)
        self.assertTrue(text.endswith("..."))


if __name__ == "__main__":
    unittest.main()
