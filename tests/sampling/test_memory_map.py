"""The memory map by kind: parsing smaps text, growth between two reads, and real processes read through /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import unittest
from pathlib import Path
from unittest import mock

import psutil
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.analysis.memory_growth import Growth, MapSummary, describe_growth, growth_by_kind
from monitor.output.units import human_bytes
from monitor.sampling.memory_map import KindTotals, MappingKind, MemoryMap, parse_smaps, read_memory_map
from tests.helpers import LINUX_ONLY, MonitorTestCase, unique_name
from tests.process_tools import wait_until

MAPPER = Path(__file__).resolve().parent.parent / "workloads" / "mapper.py"
MIB = 1 << 20
KINDS = tuple(kind.value for kind in MappingKind)

# One mapping of each kind, as the kernel writes them (the field lines trimmed to those that matter, but for
# the first block, which is whole). Private bytes are distinct powers of two so any misfiled one shows.
SMAPS = """\
55bdd569b000-55bdd569c000 r--p 00000000 fe:00 26723                      /usr/bin/python3.11
Size:                  4 kB
KernelPageSize:        4 kB
MMUPageSize:           4 kB
Rss:                   4 kB
Pss:                   4 kB
Pss_Dirty:             0 kB
Shared_Clean:          0 kB
Shared_Dirty:          0 kB
Private_Clean:         4 kB
Private_Dirty:         0 kB
Referenced:            4 kB
Anonymous:             0 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:         0 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
THPeligible:           0
VmFlags: rd mr mw me
55bddaa3d000-55bddbeff000 rw-p 00000000 00:00 0                          [heap]
Size:              21256 kB
KernelPageSize:        4 kB
Private_Clean:         0 kB
Private_Dirty:         8 kB
Swap:                 16 kB
7fd70c000000-7fd70c021000 rw-p 00000000 00:00 0
Size:                132 kB
KernelPageSize:        4 kB
Private_Clean:         0 kB
Private_Dirty:        32 kB
Swap:                  0 kB
7fd70c100000-7fd70c200000 rw-p 00000000 00:00 0                          [anon:arena]
Size:               1024 kB
KernelPageSize:        4 kB
Private_Clean:         0 kB
Private_Dirty:        64 kB
Swap:                  0 kB
7fd719af8000-7fd719af9000 ---p 00000000 00:00 0
Size:                  4 kB
KernelPageSize:        4 kB
Private_Clean:         0 kB
Private_Dirty:         0 kB
Swap:                  0 kB
7fd719af9000-7fd71a2f9000 rw-p 00000000 00:00 0
Size:               8192 kB
KernelPageSize:        4 kB
Private_Clean:         0 kB
Private_Dirty:       128 kB
Swap:                  0 kB
7fd71b73e000-7fd71b74e000 r--p 00000000 fe:00 4242                       /tmp/cache.bin (deleted)
Size:                 64 kB
KernelPageSize:        4 kB
Private_Clean:       256 kB
Private_Dirty:         0 kB
Swap:                  0 kB
7fd71c043000-7fd71c04a000 rw-s 00000000 00:1a 7                          /dev/shm/queue
Size:                 28 kB
KernelPageSize:        4 kB
Private_Clean:         0 kB
Private_Dirty:       512 kB
Swap:                  0 kB
7fd71c050000-7fd71c060000 rw-p 00000000 00:01 9                          /memfd:buffer (deleted)
Size:                 64 kB
KernelPageSize:        4 kB
Private_Clean:         0 kB
Private_Dirty:      1024 kB
Swap:                  0 kB
7fd71c060000-7fd71c070000 rw-s 00000000 00:01 32768                      /SYSV0000002a (deleted)
Size:                 64 kB
KernelPageSize:        4 kB
Private_Clean:         0 kB
Private_Dirty:      2048 kB
Swap:                  0 kB
7fd71c070000-7fd71c080000 rw-s 00000000 fe:00 777                        /var/lib/app/data.db
Size:                 64 kB
KernelPageSize:        4 kB
Private_Clean:         0 kB
Private_Dirty:      4096 kB
Swap:                  0 kB
7fd71c052000-7fd71c054000 r-xp 00000000 00:00 0                          [vdso]
Size:                  8 kB
KernelPageSize:        4 kB
Private_Clean:         0 kB
Private_Dirty:         0 kB
Swap:                  0 kB
7ffea9f80000-7ffea9fa1000 rw-p 00000000 00:00 0                          [stack]
Size:                132 kB
KernelPageSize:        4 kB
Private_Clean:         0 kB
Private_Dirty:        40 kB
Swap:                  8 kB
"""


class ParseSmapsTest(unittest.TestCase):
    """parse_smaps on literal text: every kind of mapping lands in its kind."""

    def test_each_kind_sums_its_own_mappings(self) -> None:
        """Heap, anonymous, stack, file and shared each get exactly the private and swapped bytes of their mappings."""
        parsed = parse_smaps(SMAPS)
        self.assertEqual(parsed.heap, KindTotals(8 * 1024, 16 * 1024, 1, 8 * 1024))
        self.assertEqual(parsed.anonymous, KindTotals((32 + 64) * 1024, 0, 2, 64 * 1024))
        self.assertEqual(parsed.stack, KindTotals((128 + 40) * 1024, 8 * 1024, 2, 128 * 1024))
        self.assertEqual(parsed.file, KindTotals((4 + 256) * 1024, 0, 3, 256 * 1024))
        self.assertEqual(parsed.shared, KindTotals((512 + 1024 + 2048 + 4096) * 1024, 0, 4, 4096 * 1024))

    def test_totals_equal_every_private_line(self) -> None:
        """The private bytes over all kinds are the sum of every Private line, as USS is."""
        parsed = parse_smaps(SMAPS)
        self.assertEqual(parsed.private_bytes, (4 + 8 + 32 + 64 + 128 + 256 + 512 + 1024 + 2048 + 4096 + 40) * 1024)
        self.assertEqual(parsed.swapped_bytes, 24 * 1024)

    def test_rw_mapping_after_a_bigger_guard_is_anonymous(self) -> None:
        """Only a one-page guard marks a thread stack: after a two-page ---p mapping, an rw-p one stays anonymous."""
        text = SMAPS.replace("7fd719af8000-7fd719af9000 ---p", "7fd719af7000-7fd719af9000 ---p")
        parsed = parse_smaps(text)
        self.assertEqual(parsed.stack.mappings, 1)
        self.assertEqual(parsed.anonymous.private_bytes, (32 + 64 + 128) * 1024)

    def test_rw_mapping_not_adjacent_to_the_guard_is_anonymous(self) -> None:
        """A guard page followed by a gap does not make the next mapping a stack."""
        text = SMAPS.replace("7fd719af9000-7fd71a2f9000 rw-p", "7fd719afa000-7fd71a2f9000 rw-p")
        self.assertEqual(parse_smaps(text).stack.mappings, 1)

    def test_every_kind_is_present_in_the_summary(self) -> None:
        """The summary lists every kind, zeros for those without a mapping."""
        summary = parse_smaps("").summary()
        self.assertEqual(tuple(summary), KINDS)
        self.assertEqual(set(summary.values()), {KindTotals(0, 0, 0, 0)})


def _render_block(start: int, size_kib: int, perms: str, name: str, private: tuple[int, int, int], swap: int) -> str:
    clean, dirty, hugetlb = private
    return (
        f"{start:x}-{start + size_kib * 1024:x} {perms} 00000000 00:00 0 {name}\n"
        f"Size: {size_kib:>14} kB\nKernelPageSize: {4:>4} kB\nRss: {clean + dirty:>15} kB\n"
        f"Private_Clean: {clean:>8} kB\nPrivate_Dirty: {dirty:>8} kB\nPrivate_Hugetlb: {hugetlb:>6} kB\n"
        f"Swap: {swap:>16} kB\nSwapPss: {swap:>13} kB\nVmFlags: rd wr mr mw me ac\n"
    )


# (name, perms, kind) of mappings whose kind their name and permissions alone decide.
NAMED = [
    ("[heap]", "rw-p", "heap"),
    ("", "rw-p", "anonymous"),
    ("", "r--p", "anonymous"),
    ("[anon:jit]", "rw-p", "anonymous"),
    ("[stack]", "rw-p", "stack"),
    ("/usr/lib/libc.so.6", "r-xp", "file"),
    ("/tmp/gone file (deleted)", "rw-p", "file"),
    ("/dev/shm/ring", "rw-s", "shared"),
    ("/memfd:pool (deleted)", "rw-p", "shared"),
    ("/SYSV00000001 (deleted)", "rw-s", "shared"),
    ("/dev/zero (deleted)", "rw-s", "shared"),
]
mappings = st.lists(
    st.tuples(
        st.sampled_from(NAMED),
        st.integers(1, 4096),
        st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**4)),
        st.integers(0, 10**6),
    ),
    max_size=30,
)


class ParseSmapsPropertiesTest(unittest.TestCase):
    """parse_smaps on generated smaps text."""

    @settings(max_examples=50, deadline=None)
    @given(mappings)
    def test_generated_maps_sum_to_their_private_and_swap_lines(self, blocks: list) -> None:
        """Per kind and in total, the private and swapped bytes and the mapping counts are those of the text."""
        text, start = "", 0x7F0000000000
        expected = {kind: [0, 0, 0, 0] for kind in KINDS}
        for (name, perms, kind), size_kib, private, swap in blocks:
            text += _render_block(start, size_kib, perms, name, private, swap)
            start += (size_kib + 4) * 1024  # a page apart: no two mappings touch
            totals = expected[kind]
            totals[0] += sum(private) * 1024
            totals[1] += swap * 1024
            totals[2] += 1
            totals[3] = max(totals[3], sum(private) * 1024)
        parsed = parse_smaps(text)
        self.assertEqual({kind: list(vars(totals).values()) for kind, totals in parsed.summary().items()}, expected)
        self.assertEqual(parsed.private_bytes, sum(sum(private) for _, _, private, _ in blocks) * 1024)


def summary(**kinds: tuple[int, int, int, int]) -> dict[str, KindTotals]:
    return {kind: KindTotals(*values) for kind, values in kinds.items()}


class GrowthTest(unittest.TestCase):
    """growth_by_kind and describe_growth on literal maps."""

    def test_growth_is_end_minus_start_per_kind(self) -> None:
        """Bytes, swap and mapping counts are end minus start; the largest new mapping is one bigger than at start."""
        start = {7: summary(heap=(10 * MIB, 0, 1, 10 * MIB), anonymous=(8 * MIB, 0, 4, 2 * MIB))}
        end = {7: summary(heap=(24 * MIB, 0, 1, 24 * MIB), anonymous=(406 * MIB, MIB, 37, 64 * MIB))}
        growth = growth_by_kind(start, end)
        self.assertEqual(growth.by_kind(), {"heap": 14 * MIB, "anonymous": 398 * MIB})
        self.assertEqual(growth.swapped_by_kind(), {"heap": 0, "anonymous": MIB})
        anonymous = growth.kinds[1]
        self.assertEqual((anonymous.new_mappings, anonymous.largest_new_bytes), (33, 64 * MIB))
        self.assertEqual(growth.pids, (7,))

    def test_listed_kinds_appear_with_zero(self) -> None:
        """Every kind asked for is in the JSON field, 0 when no process has it."""
        growth = growth_by_kind({}, {}, kinds=KINDS)
        self.assertEqual(growth.by_kind(), dict.fromkeys(KINDS, 0))

    def test_sentence_names_the_kinds_that_grew_largest_first(self) -> None:
        """The summary sentence gives the total, then each kind that changed, the biggest growth first."""
        start = {
            7: summary(heap=(10 * MIB, 0, 1, 10 * MIB), anonymous=(8 * MIB, 0, 4, 2 * MIB), stack=(MIB, 0, 2, MIB))
        }
        end = {
            7: summary(heap=(24 * MIB, 0, 1, 24 * MIB), anonymous=(406 * MIB, 0, 37, 64 * MIB), stack=(MIB, 0, 2, MIB))
        }
        self.assertEqual(
            describe_growth(growth_by_kind(start, end), 412 * MIB, human_bytes),
            "private memory grew 412.0 MiB: anonymous mappings +398.0 MiB (33 new mappings, the largest 64.0 MiB), "
            "heap +14.0 MiB",
        )

    def test_sentence_says_did_not_grow(self) -> None:
        """Changes under a page are not growth: the sentence says memory did not grow and lists no kind."""
        start = {7: summary(heap=(MIB, 0, 1, MIB))}
        end = {7: summary(heap=(MIB + 100, 0, 1, MIB + 100))}
        self.assertEqual(describe_growth(growth_by_kind(start, end), 100, human_bytes), "private memory did not grow")

    def test_sentence_gives_shrinking_kinds_and_swap(self) -> None:
        """A kind that shrank is listed with a minus sign, and memory pushed to swap is said."""
        start = {7: summary(heap=(40 * MIB, 0, 1, 40 * MIB), file=(MIB, 0, 9, MIB))}
        end = {7: summary(heap=(30 * MIB, 10 * MIB, 1, 30 * MIB), file=(3 * MIB, 0, 9, MIB))}
        self.assertEqual(
            describe_growth(growth_by_kind(start, end), -8 * MIB, human_bytes),
            "private memory shrank 8.0 MiB: file mappings +2.0 MiB, heap -10.0 MiB, swapped out +10.0 MiB",
        )


stats = st.builds(
    KindTotals, st.integers(0, 1 << 40), st.integers(0, 1 << 40), st.integers(0, 10**5), st.integers(0, 1 << 40)
)
maps = st.dictionaries(st.integers(1, 50), st.dictionaries(st.sampled_from(KINDS), stats), max_size=8)


class GrowthPropertiesTest(unittest.TestCase):
    """growth_by_kind on generated maps."""

    @settings(max_examples=50, deadline=None)
    @given(maps, maps)
    def test_only_processes_at_both_ends_count(self, start: dict[int, MapSummary], end: dict[int, MapSummary]) -> None:
        """Processes present at one end only change nothing: the growth equals that over the common PIDs."""
        common = set(start) & set(end)
        restricted = growth_by_kind({p: start[p] for p in common}, {p: end[p] for p in common}, KINDS)
        self.assertEqual(growth_by_kind(start, end, KINDS), restricted)
        self.assertEqual(restricted.pids, tuple(sorted(common)))

    @settings(max_examples=50, deadline=None)
    @given(maps)
    def test_identical_maps_grow_nothing(self, both: dict[int, MapSummary]) -> None:
        """The same maps at both ends give zero growth of every kind and the sentence says so."""
        growth = growth_by_kind(both, both, KINDS)
        self.assertEqual(growth.by_kind(), dict.fromkeys(KINDS, 0))
        self.assertTrue(all(k.new_mappings == 0 and k.largest_new_bytes == 0 for k in growth.kinds))
        self.assertEqual(describe_growth(growth, 0, human_bytes), "private memory did not grow")

    @settings(max_examples=50, deadline=None)
    @given(maps, maps)
    def test_growth_sums_are_consistent(self, start: dict[int, MapSummary], end: dict[int, MapSummary]) -> None:
        """Each kind's growth is the sum over processes of end minus start, and the kinds add up to the total."""
        growth = growth_by_kind(start, end, KINDS)
        common = set(start) & set(end)

        def total(side: dict[int, MapSummary], kind: str) -> int:
            return sum(side[p][kind].private_bytes for p in common if kind in side[p])

        for kind in KINDS:
            self.assertEqual(growth.by_kind()[kind], total(end, kind) - total(start, kind))
        self.assertEqual(growth.private_bytes, sum(total(end, k) - total(start, k) for k in KINDS))
        self.assertTrue(all(isinstance(value, int) for value in growth.by_kind().values()))
        self.assertIsInstance(growth, Growth)


@LINUX_ONLY
class ReadMemoryMapTest(MonitorTestCase):
    """read_memory_map on real processes."""

    def start_mapper(self, *args: str) -> subprocess.Popen[str]:
        """Start tests/workloads/mapper.py, wait for 'ready', reap it at cleanup."""
        return self.start_script(MAPPER, *args)

    def measure_leak(self, pid: int, min_growth: int) -> tuple[MemoryMap, MemoryMap, int]:
        """Maps at two moments `min_growth` of USS apart, and the USS growth over an interval enclosing both reads."""
        process = psutil.Process(pid)
        uss_start = process.memory_full_info().uss
        first = read_memory_map(pid)
        wait_until(lambda: process.memory_full_info().uss - uss_start >= min_growth, "the process did not leak", 20)
        last = read_memory_map(pid)
        uss_growth = process.memory_full_info().uss - uss_start
        assert first is not None and last is not None
        return first, last, uss_growth

    def test_leaked_mappings_are_anonymous_growth(self) -> None:
        """A process leaking 1 MiB anonymous mappings: the anonymous kind holds at least 80% of its USS growth."""
        proc = self.start_mapper("--leak-mib-per-s", "40", "--mib-each", "1")
        first, last, uss_growth = self.measure_leak(proc.pid, 32 * MIB)
        growth = growth_by_kind({proc.pid: first.summary()}, {proc.pid: last.summary()}, KINDS)
        self.assertGreaterEqual(
            growth.by_kind()["anonymous"], 0.8 * uss_growth, describe_growth(growth, uss_growth, human_bytes)
        )
        self.assertGreaterEqual(growth.kinds[KINDS.index("anonymous")].new_mappings, 16)
        self.assertIn("anonymous mappings +", describe_growth(growth, uss_growth, human_bytes))

    def test_leaked_malloc_buffers_are_heap_or_anonymous_growth(self) -> None:
        """The standard workload's leaked 1 MiB bytearrays are malloc'd: heap plus anonymous hold 80% of the growth."""
        proc = self.start_workload(unique_name("mapleak"), "--leak-mib-per-s", "40")
        first, last, uss_growth = self.measure_leak(proc.pid, 32 * MIB)
        growth = growth_by_kind({proc.pid: first.summary()}, {proc.pid: last.summary()}, KINDS).by_kind()
        self.assertGreaterEqual(growth["heap"] + growth["anonymous"], 0.8 * uss_growth, growth)

    def test_thread_stacks_are_stacks(self) -> None:
        """Each thread's glibc stack counts as one stack mapping, besides the main [stack]."""
        proc = self.start_mapper("--threads", "3")
        memory_map = read_memory_map(proc.pid)
        assert memory_map is not None
        self.assertEqual(memory_map.stack.mappings, 1 + 3)

    def test_private_bytes_equal_uss(self) -> None:
        """On a process at rest, the private bytes over all kinds equal psutil's USS to the page."""
        proc = self.start_mapper("--mappings", "20")
        memory_map = read_memory_map(proc.pid)
        assert memory_map is not None
        self.assertAlmostEqual(memory_map.private_bytes, psutil.Process(proc.pid).memory_full_info().uss, delta=4096)
        self.assertGreaterEqual(memory_map.anonymous.mappings, 20)

    def test_exited_process_reads_as_none(self) -> None:
        """A process that has exited, zombie or reaped, has no memory map: None, no exception."""
        proc = self.start_mapper()
        os.kill(proc.pid, signal.SIGKILL)
        wait_until(lambda: psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE, "no zombie", timeout_s=20)
        self.assertIsNone(read_memory_map(proc.pid))
        proc.wait()
        self.assertIsNone(read_memory_map(proc.pid))

    def test_access_denied_reads_as_none(self) -> None:
        """When the OS refuses the read (another user's process), the map is None, not an exception."""
        with mock.patch("builtins.open", side_effect=PermissionError(13, "Permission denied")):
            self.assertIsNone(read_memory_map(os.getpid()))


if __name__ == "__main__":
    unittest.main()
