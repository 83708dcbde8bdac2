"""What a run watches: the roots to find and the names to give them, from the selection."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

from monitor.cli.options import Selection
from monitor.sampling import finders, names


@dataclasses.dataclass(frozen=True)
class Target:
    """How to find the roots to watch, and what to call them."""

    find_roots: finders.RootFinder
    name: str
    label: str
    missing: str


def resolve_target(selection: Selection, launched: subprocess.Popen[bytes] | None) -> Target:
    """What -p, --pid, --cmdline or a launched command name: how to find it and what to call it."""
    if launched is not None:
        name = Path(selection.command[0]).name
        shown = names.clean_name(" ".join(selection.command))
        return Target(finders.by_pid(launched.pid), names.clean_name(name), f"command '{shown}'", "")
    if selection.pid is not None:
        name = names.clean_name(names.name_of_pid(selection.pid))
        return Target(finders.by_pid(selection.pid), name, f"pid {selection.pid} ('{name}')", "")
    if selection.cmdline is not None:
        pattern = names.clean_name(selection.cmdline)
        return Target(
            finders.by_cmdline(selection.cmdline),
            pattern,
            f"command lines matching '{pattern}'",
            f"No running process has a command line matching '{pattern}'; check the pattern (a regular "
            "expression, matched as pgrep -f does)",
        )
    name = names.clean_name(selection.process_name or "")
    return Target(
        finders.by_name(selection.process_name or ""),
        name,
        f"'{name}'",
        f"No running process named '{name}'; check the name (it must match exactly, as ps or Task Manager shows it)",
    )
