"""Run a command and write the kernel's account of its CPU: this process's and every child it reaped.

    python tests/workloads/rusage.py OUT_FILE COMMAND [ARG...]

OUT_FILE gets one line, the CPU seconds (user + system) of this wrapper and of the whole tree below
it, as getrusage counts them once the command has been waited for.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys


def main() -> int:
    out, command = sys.argv[1], sys.argv[2:]
    status = subprocess.call(command)
    spent = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        spent += usage.ru_utime + usage.ru_stime
    with open(out + ".partial", "w") as file:
        file.write(f"{spent}\n")
    # Renamed whole: a reader never sees half a line.
    os.replace(out + ".partial", out)
    return status


if __name__ == "__main__":
    sys.exit(main())
