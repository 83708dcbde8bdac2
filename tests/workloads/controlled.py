"""A sleeping process that renames itself on command, for tests of instances that take a name late.

    python tests/workloads/controlled.py --name first

Prints 'ready' once named; then reads commands on stdin, one a line, and answers 'ok' to each:
`name NEW` renames it (prctl PR_SET_NAME, as a process renaming itself does). It exits at the end
of its input.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import sys

PR_SET_NAME = 15


def set_name(name: str) -> None:
    """Take `name` (at most 15 bytes) as the kernel's name of this process."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NAME) failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True, help="process name to take (at most 15 bytes)")
    args = parser.parse_args()
    set_name(args.name)
    print("ready", flush=True)
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "name":
            set_name(argument)
        print("ok", flush=True)


if __name__ == "__main__":
    main()
