"""Values as text: one module formats bytes, rates, counts and percentages for tables, sentences and axes."""

from __future__ import annotations

import unittest

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.metrics import Unit
from monitor.output.units import byte_unit, format_amount, format_cell, human_bytes

SIZES = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4}


class UnitsTest(unittest.TestCase):
    def test_examples(self) -> None:
        """Bytes whole, larger units with one decimal, none from 100 up in a table cell."""
        self.assertEqual(human_bytes(1536), "1.5 KiB")
        self.assertEqual(human_bytes(512), "512 B")
        self.assertEqual(format_cell(1023 * 1024**2, Unit.BYTES), "1023 MiB")
        self.assertEqual(format_cell(9.1 * 1024**2, Unit.BYTES), "9.1 MiB")
        self.assertEqual(format_cell(2048, Unit.BYTES_PER_S), "2.0 KiB/s")
        self.assertEqual(format_cell(1600, Unit.PERCENT), "1600")
        self.assertEqual(format_cell(None, Unit.COUNT), "-")
        self.assertEqual(format_amount(1536, Unit.BYTES, exact_bytes=True), "1.5 KiB (1536 bytes)")
        self.assertEqual(format_amount(0.6, Unit.PERCENT), "0.60 %")
        self.assertEqual(byte_unit(3 * 1024**3), ("GiB", 1024.0**3))

    @given(st.floats(-(2.0**50), 2.0**50, allow_nan=False))
    @settings(max_examples=200, deadline=None)
    def test_the_text_reads_back_to_the_value(self, value: float) -> None:
        """A byte count shown in its unit is the value to within the rounding of that unit."""
        number, name = human_bytes(value).split()
        size = SIZES[name]
        self.assertLessEqual(abs(float(number) * size - value), 0.05 * size + 0.5)
        self.assertTrue(abs(value) < 1024 or abs(value) >= size, (value, name))

    @given(st.floats(0, 2.0**45, allow_nan=False), st.sampled_from(list(Unit)))
    @settings(max_examples=200, deadline=None)
    def test_a_cell_fits_its_column(self, value: float, unit: Unit) -> None:
        """A cell holds at most one decimal and at most 14 characters for values up to 32 TiB (or 2**45)."""
        cell = format_cell(value, unit)
        number = cell.split()[0]
        self.assertLessEqual(len(number.partition(".")[2]), 1, cell)
        self.assertLessEqual(len(cell), 14, cell)


if __name__ == "__main__":
    unittest.main()
