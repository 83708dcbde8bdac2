"""Keep the runtimes' files mapped while the corpus records, so their pages never count as private.

    python bench/real_corpus/pin.py FILE... (maps and touches every page, then waits for stdin to close)

A file page mapped by one process only is private to it: a Node process's private memory jumps by
tens of MiB when another Node process that shared its binary's pages exits, which no workload's
design explains. While this process maps every page of the runtimes' binaries and libraries, no
other process is ever their only user.
"""

from __future__ import annotations

import mmap
import os
import subprocess
import sys
from pathlib import Path

PAGE = mmap.PAGESIZE
EXECUTABLES = ("node", "java", "perl", "sqlite3", "xz", "stress-ng", "sh")


def runtime_files(extra: list[Path]) -> list[Path]:
    """The executables of the corpus's runtimes, the shared libraries they load and the JDK's files."""
    found: set[Path] = set()
    binaries = [Path(sys.executable).resolve(), *extra]
    for name in EXECUTABLES:
        path = _which(name)
        if path:
            binaries.append(path)
    java = _which("java")
    if java:
        home = java.parent.parent
        found.update(
            p for p in home.rglob("*") if p.is_file() and (p.suffix == ".so" or p.name in ("modules", "classes.jsa"))
        )
    for binary in binaries:
        found.add(binary)
        found.update(_libraries(binary))
    return sorted(found)


def _which(name: str) -> Path | None:
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.resolve()
    return None


def _libraries(binary: Path) -> set[Path]:
    """The shared libraries `binary` loads, as ldd lists them."""
    try:
        listing = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return set()
    paths = set()
    for line in listing.splitlines():
        for word in line.split():
            if word.startswith("/") and Path(word).is_file():
                paths.add(Path(word).resolve())
    return paths


def pin(paths: list[str]) -> list[mmap.mmap]:
    """Map each file whole and read a byte of every page, so that every page is mapped here too."""
    maps = []
    for path in paths:
        try:
            with open(path, "rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size == 0:
                    continue
                mapped = mmap.mmap(handle.fileno(), 0, prot=mmap.PROT_READ)
        except (OSError, ValueError):
            continue
        total = 0
        for offset in range(0, size, PAGE):
            total += mapped[offset]
        maps.append(mapped)
    return maps


if __name__ == "__main__":
    held = pin(sys.argv[1:])
    print(f"pinned {len(held)} files", flush=True)
    sys.stdin.read()
