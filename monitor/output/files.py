"""Where a run's files go: sanitised names, created directories, never-overwritten stems."""

from __future__ import annotations

import datetime
import re
import tempfile
from pathlib import Path

from monitor.errors import MonitorError

# Letters and digits of any script are kept (`ünïcødé-名前` stays as it is); separators, spaces,
# punctuation and control characters become '_'.
_UNSAFE = re.compile(r"[^\w.-]+")


def safe_name(name: str) -> str:
    """A file-name part made of letters, digits, '-', '_' and '.' only, never a hidden or empty name."""
    return _UNSAFE.sub("_", name).strip("._") or "process"


def prepare_dir(path: Path, what: str, option: str) -> Path:
    """Create the directory if needed and prove it writable, or raise MonitorError."""
    try:
        if path.exists() and not path.is_dir():
            raise MonitorError(f"the {what} directory '{path}' is a file; give a directory path with {option}")
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise dir_error(path, what, option, exc) from None
    return path


def dir_error(path: Path, what: str, option: str, exc: OSError) -> MonitorError:
    """One line naming the directory, why it cannot be used, and the option that changes it."""
    reason = exc.strerror or str(exc)
    return MonitorError(f"cannot write to the {what} directory '{path}' ({reason}); choose another with {option}")


def run_stem(name: str, started: datetime.datetime) -> str:
    """The base file name of a run: <safe-name>_<YYYYmmdd-HHMMSS>."""
    return f"{safe_name(name)}_{started:%Y%m%d-%H%M%S}"


def claim_files(stem: str, places: dict[str, Path], reserved: dict[str, Path] | None = None) -> dict[str, Path]:
    """Create every file of a run exclusively, adding -2, -3 ... so that no earlier run is overwritten.

    `places` maps a suffix (".csv", "_processes.csv", ".log") to its directory; `reserved` does the
    same for files written at the end of the run (".json", ".png"): a stem is taken only when none of
    them exists either, and their paths are returned with the others.
    """
    reserved = reserved or {}
    for attempt in range(1, 10_000):
        candidate = stem if attempt == 1 else f"{stem}-{attempt}"
        paths = {suffix: folder / f"{candidate}{suffix}" for suffix, folder in places.items()}
        later = {suffix: folder / f"{candidate}{suffix}" for suffix, folder in reserved.items()}
        if any(path.exists() for path in later.values()):
            continue
        created: list[Path] = []
        try:
            for path in paths.values():
                path.open("x").close()
                created.append(path)
        except FileExistsError:
            for path in created:
                path.unlink()
            continue
        return paths | later
    raise MonitorError(f"too many reports named '{stem}*'; clear out the reports directory")


# The files of one run, <stem><suffix>: the report and detail CSVs and the summary beside them, the log apart.
REPORT_SUFFIX = ".csv"
DETAIL_SUFFIX = "_processes.csv"
LOG_SUFFIX = ".log"
JSON_SUFFIX = ".json"
CHART_SUFFIX = ".png"
