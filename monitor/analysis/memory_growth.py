"""Where private memory grew between two reads of the processes' memory maps, by kind of mapping.

    >>> describe_growth(growth_by_kind(first_maps, last_maps), total_private_growth=432_013_312)
    'private memory grew 412.0 MiB: anonymous mappings +398.0 MiB (33 new mappings, the largest 64.0 MiB),
    heap +14.0 MiB'

A memory map is given per process as plain data, kind name -> totals (any object with the four
attributes of `KindStats`), so this module needs nothing from the code that reads processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Protocol

# A change smaller than a page is rounding, not growth.
PAGE_BYTES = 4096
_LABELS = {
    "heap": "heap",
    "anonymous": "anonymous mappings",
    "stack": "stacks",
    "file": "file mappings",
    "shared": "shared memory",
}


class KindStats(Protocol):
    """One kind of mapping in one process's memory map."""

    @property
    def private_bytes(self) -> int:
        """Resident private bytes of the kind's mappings."""

    @property
    def swapped_bytes(self) -> int:
        """Swapped-out bytes of the kind's mappings."""

    @property
    def mappings(self) -> int:
        """How many mappings of the kind there are."""

    @property
    def largest_bytes(self) -> int:
        """Private bytes of the kind's largest mapping."""


# One process's memory map: kind name -> its totals.
MapSummary = Mapping[str, KindStats]


@dataclass(frozen=True)
class KindGrowth:
    """How one kind changed, summed over the processes present at both reads.

    `new_mappings` is the net change in the number of mappings. `largest_new_bytes` is the largest
    mapping of the kind at the end that is bigger than every mapping of that kind the same process
    had at the start (so a new or a grown one), 0 when there is none.
    """

    kind: str
    private_bytes: int
    swapped_bytes: int
    new_mappings: int
    largest_new_bytes: int


@dataclass(frozen=True)
class Growth:
    """The change of every kind between two reads, and the processes it covers."""

    kinds: tuple[KindGrowth, ...]
    pids: tuple[int, ...]

    def by_kind(self) -> dict[str, int]:
        """Private bytes gained per kind (negative when it shrank): the JSON's `memory_growth_by_kind`."""
        return {growth.kind: growth.private_bytes for growth in self.kinds}

    def swapped_by_kind(self) -> dict[str, int]:
        """Swapped bytes gained per kind."""
        return {growth.kind: growth.swapped_bytes for growth in self.kinds}

    @property
    def private_bytes(self) -> int:
        """Private bytes gained over all kinds."""
        return sum(growth.private_bytes for growth in self.kinds)


def growth_by_kind(start: Mapping[int, MapSummary], end: Mapping[int, MapSummary], kinds: Iterable[str] = ()) -> Growth:
    """End minus start per kind, over the PIDs present in both; `kinds` are listed even when no map has them."""
    pids = tuple(sorted(set(start) & set(end)))
    names = dict.fromkeys(kinds)
    for pid in pids:
        names.update(dict.fromkeys(start[pid]))
        names.update(dict.fromkeys(end[pid]))
    return Growth(tuple(_kind_growth(name, start, end, pids) for name in names), pids)


def _kind_growth(
    name: str, start: Mapping[int, MapSummary], end: Mapping[int, MapSummary], pids: tuple[int, ...]
) -> KindGrowth:
    private = swapped = new_mappings = largest = 0
    for pid in pids:
        before, after = start[pid].get(name, _NO_MAPPINGS), end[pid].get(name, _NO_MAPPINGS)
        private += after.private_bytes - before.private_bytes
        swapped += after.swapped_bytes - before.swapped_bytes
        new_mappings += after.mappings - before.mappings
        if after.largest_bytes > before.largest_bytes:
            largest = max(largest, after.largest_bytes)
    return KindGrowth(name, private, swapped, new_mappings, largest)


@dataclass(frozen=True)
class _Absent:
    """A kind a process has no mapping of."""

    private_bytes: int = 0
    swapped_bytes: int = 0
    mappings: int = 0
    largest_bytes: int = 0


_NO_MAPPINGS = _Absent()


def describe_growth(
    growth: Growth,
    total_private_growth: float,
    format_bytes: Callable[[float], str],
    min_bytes: int = PAGE_BYTES,
) -> str:
    """One sentence: how much private memory grew and in which kinds, largest growth first.

    `total_private_growth` is the run's own measure (USS at the last sample minus the first); the kinds
    listed are those that changed by at least `min_bytes`.
    """
    if total_private_growth >= min_bytes:
        head = f"private memory grew {format_bytes(total_private_growth)}"
    elif total_private_growth <= -min_bytes:
        head = f"private memory shrank {format_bytes(-total_private_growth)}"
    else:
        head = "private memory did not grow"
    changed = sorted(
        (kind for kind in growth.kinds if abs(kind.private_bytes) >= min_bytes), key=lambda kind: -kind.private_bytes
    )
    parts = [_describe_kind(kind, format_bytes) for kind in changed]
    swapped = sum(kind.swapped_bytes for kind in growth.kinds)
    if abs(swapped) >= min_bytes:
        parts.append(f"swapped out {_signed(swapped, format_bytes)}")
    return f"{head}: {', '.join(parts)}" if parts else head


def _describe_kind(kind: KindGrowth, human: Callable[[float], str]) -> str:
    text = f"{_LABELS.get(kind.kind, kind.kind)} {_signed(kind.private_bytes, human)}"
    if kind.new_mappings <= 0:
        return text
    count = f"{kind.new_mappings} new mapping{'' if kind.new_mappings == 1 else 's'}"
    if kind.largest_new_bytes > 0:
        count += f", the largest {human(kind.largest_new_bytes)}"
    return f"{text} ({count})"


def _signed(value: float, human: Callable[[float], str]) -> str:
    return f"+{human(value)}" if value >= 0 else f"-{human(-value)}"
