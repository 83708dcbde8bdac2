"""The CPU a watched set spent between two ticks, as the kernel accounts it, short-lived children included.

The kernel adds a child's CPU time, its own and what it collected from its own children, to its
parent's `children_user`/`children_system` when the parent reaps it. So a member's *account*, its
own time plus what it reaped, keeps the CPU of every descendant that lived and died between two
ticks, and the sum of the accounts of the members is the CPU of the whole tree. Between two ticks:

- a member present at both adds the growth of its account;
- a member found for the first time adds its account, or its share of this interval when it was
  created before the previous tick (its average rate since creation, over the interval);
- a member gone since the previous tick and reaped by a member still watched (its parent at its
  last reading, or the first one still watched up its chain of gone parents) moved its whole account
  into that member's; what was already counted of it is taken off, so nothing is counted twice. One
  reaped elsewhere (an orphan collected by init, or a root collected by its own parent) takes with
  it what it spent after its last reading.

An exited process that is not reaped yet (a zombie) still gives its final account, so the launched
command, which the monitor itself reaps, is counted to its end.
"""

from __future__ import annotations

from typing import Hashable, Iterable, NamedTuple


class CpuAccount(NamedTuple):
    """One member's CPU at one tick: its own time plus its reaped children's, in seconds (a tuple: made every tick)."""

    key: Hashable  # the process's identity (PID and creation time): a reused PID is another member
    pid: int
    parent: int | None  # the parent's PID at this reading
    root: int  # the PID of the root the member was found under (its own for a root)
    seconds: float
    age_s: float | None = None  # seconds since creation, for a member seen for the first time


class TreeCpu:
    """Turns each tick's accounts into the CPU seconds spent since the previous tick, per root and in all."""

    def __init__(self) -> None:
        self._last: dict[Hashable, CpuAccount] = {}
        self.total_s = 0.0  # since the first tick's accounts

    def start(self, accounts: Iterable[CpuAccount]) -> None:
        """Take the accounts read before the first tick: what they spent before it is not counted."""
        self._last = {account.key: account for account in accounts}

    def advance(self, accounts: Iterable[CpuAccount], interval_s: float) -> dict[int, float]:
        """The CPU seconds each root's tree spent over the last `interval_s` seconds; adds them to `total_s`."""
        current = {account.key: account for account in accounts}
        last = self._last
        spent: dict[int, float] = {}
        if current.keys() == last.keys():
            # Nothing came or went, the usual tick: each member adds the growth of its account.
            for key, account in current.items():
                spent[account.root] = spent.get(account.root, 0.0) + (account.seconds - last[key].seconds)
            return self._spent(spent, current)
        by_pid = {account.pid: account for account in current.values()}
        for key, account in current.items():
            before = last.get(key)
            if before is not None:
                part = account.seconds - before.seconds
            elif account.age_s is not None and account.age_s > interval_s > 0:
                part = account.seconds * interval_s / account.age_s
            else:
                part = account.seconds
            spent[account.root] = spent.get(account.root, 0.0) + part
        gone = {account.pid: account for key, account in self._last.items() if key not in current}
        for account in gone.values():
            reaper = self._reaper(account, gone, by_pid)
            if reaper is not None:
                spent[reaper.root] = spent.get(reaper.root, 0.0) - account.seconds
        return self._spent(spent, current)

    def _spent(self, spent: dict[int, float], current: dict[Hashable, CpuAccount]) -> dict[int, float]:
        # An account never falls; a negative share means the kernel dropped a child's time (one reaped
        # without a wait, as when SIGCHLD is ignored): nothing was spent that can be shown.
        for root, seconds in spent.items():
            if seconds < 0.0:
                spent[root] = 0.0
        self._last = current
        self.total_s += sum(spent.values())
        return spent

    def _reaper(
        self, account: CpuAccount, gone: dict[int, CpuAccount], by_pid: dict[int, CpuAccount]
    ) -> CpuAccount | None:
        """The member still watched whose account now holds a gone member's, or None if it left the tree.

        A parent that is gone too reaped it first and was then reaped in turn: the chain of gone
        parents leads to the member that holds them all.
        """
        parent, hops = account.parent, 0
        while parent in gone and hops < len(gone):
            parent, hops = gone[parent].parent, hops + 1
        reaper = by_pid.get(parent) if parent is not None else None
        return reaper if reaper is not None and reaper.key in self._last else None
