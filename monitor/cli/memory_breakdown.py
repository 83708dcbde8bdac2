"""Where memory grew: the memory maps of the watched processes read at the start and the end of a run.

A full map read costs up to hundreds of milliseconds for a huge process, so it is done twice per
run, before the first tick and after the last, never on the per-sample path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from monitor.analysis.memory_growth import MapSummary, describe_growth, growth_by_kind
from monitor.output.units import human_bytes
from monitor.sampling.memory_map import SMAPS_SUPPORTED, MappingKind, read_memory_maps
from monitor.sampling.targets import TargetSet

KINDS = [kind.value for kind in MappingKind]


@dataclass
class MemoryBreakdown:
    """The maps read at the start and at the end of a run, by PID."""

    start: dict[int, MapSummary] = field(default_factory=dict)
    end: dict[int, MapSummary] = field(default_factory=dict)

    def read_start(self, watched: TargetSet) -> None:
        """Read the maps of the processes watched when sampling begins."""
        self.start = _summaries(watched)

    def read_end(self, watched: TargetSet) -> None:
        """Read the maps of the processes still watched when sampling ends."""
        self.end = _summaries(watched)

    def facts(self) -> tuple[dict[str, Any] | None, str | None]:
        """The JSON's memory_growth_by_kind and the summary's sentence; None where maps cannot be read."""
        if not SMAPS_SUPPORTED or not self.start or not self.end:
            return None, None
        growth = growth_by_kind(self.start, self.end, kinds=KINDS)
        if not growth.pids:
            return None, None
        return growth.by_kind(), describe_growth(growth, growth.private_bytes, format_bytes=human_bytes)


def _summaries(watched: TargetSet) -> dict[int, MapSummary]:
    return {pid: memory_map.summary() for pid, memory_map in read_memory_maps(watched.live.values()).items()}
