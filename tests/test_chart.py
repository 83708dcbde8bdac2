"""The chart: a title that is never clipped, legends that never cover the data, whole-number handle ticks."""

from __future__ import annotations

import unittest

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from monitor.analysis.summary import analyze
from monitor.metrics import BY_COLUMN, CPU, ELAPSED, HANDLES, MEMORY, READ_RATE, RESIDENT, WRITE_RATE
from monitor.output.chart import chart_panels, chart_title, draw_chart

LONG_TITLE = (
    "command 'python tests/workloads/workload.py --leak-mib-per-s 3 --seconds 60 --name a-rather-long-name "
    "--children 4 --child-name another-long-name', 2026-11-28 15:33:57, every 0.5 s"
)


def _leaking_frame(samples: int = 40) -> pd.DataFrame:
    seconds = np.arange(samples) * 0.5
    return pd.DataFrame(
        {
            ELAPSED: seconds,
            CPU: np.where(np.arange(samples) % 5 == 0, 6.0, 0.0),
            MEMORY: 10e6 + 3 * 2**20 * seconds,
            HANDLES: np.full(samples, 5.0),
        }
    )


class ChartLayoutTest(unittest.TestCase):
    figure: Figure

    @classmethod
    def setUpClass(cls) -> None:
        import matplotlib.pyplot as plt

        frame = _leaking_frame()
        cls.figure = draw_chart(frame, analyze(frame), LONG_TITLE)
        cls.figure.canvas.draw()
        cls.addClassCleanup(plt.close, cls.figure)

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
    def test_memory_panel_adds_resident_memory(self) -> None:
        """Private and resident memory share the memory panel."""
        frame = _leaking_frame().assign(**{RESIDENT: 30e6})
        panels = dict(chart_panels(frame))
        self.assertEqual([m.column for m in panels["memory"]], [MEMORY, RESIDENT])

    def test_io_panel_only_when_the_run_did_io(self) -> None:
        """Zero reads and writes draw no I/O panel; any write draws one with both rates."""
        quiet = _leaking_frame().assign(**{READ_RATE: 0.0, WRITE_RATE: 0.0})
        self.assertNotIn("io", dict(chart_panels(quiet)))
        busy = quiet.assign(**{WRITE_RATE: np.r_[np.zeros(39), 4096.0]})
        self.assertEqual([m.column for m in dict(chart_panels(busy))["io"]], [READ_RATE, WRITE_RATE])

    def test_old_report_without_added_columns_draws_the_readme_metrics(self) -> None:
        """A report with only the README's columns gets its three panels."""
        self.assertEqual([name for name, _ in chart_panels(_leaking_frame())], ["cpu", "memory", "handles"])


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
