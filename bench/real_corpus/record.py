"""Record the real-program corpus through the monitor itself, check every label, write the manifest.

    python bench/real_corpus/record.py [--out bench/real_corpus/traces] [--only REGEX] [--jobs 1]
                                       [--fresh] [--separate 30 120 ...]

Each workload of catalogue.py runs under `python main.py -d WINDOW -s INTERVAL -q --no-plot -- COMMAND`
(400 samples by default: -d 50 -s 0.125). The 30- and 120-sample traces are taken from the same run,
as 30 and 120 evenly spaced rows of it, which is what sampling at a 13.3 or 3.3 times longer interval
gives for these instantaneous values. Each trace keeps only the columns `--analyze` needs and the
detector judges. Every label is checked on every trace (checks.py); a trace that fails is listed in
the manifest as dropped, with what was seen, and its file is not kept unless another metric of it
passed. With --only, the chosen workloads replace their rows of an existing manifest. With
--separate, each length given is recorded as a run of its own over the same window (at window /
length), checked on its own, and replaces that length's trace. --fresh records the reseeded
instances of catalogue.FRESH instead (their split is `fresh`).
"""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from bench.real_corpus.catalogue import FRESH, HERE, MEMORY, WORKLOADS, Build, Workload
from bench.real_corpus.checks import check_label
from bench.real_corpus.pin import runtime_files

ROOT = Path(__file__).resolve().parent.parent.parent
LENGTHS = (30, 120, 400)
COLUMNS = (
    "timestamp",
    "cpu_percent",
    "private_memory",
    "handles_fds",
    "process_count",
    "elapsed_s",
    "swapped_memory",
)
MANIFEST = "manifest.csv"
MANIFEST_FIELDS = (
    "file",
    "workload",
    "family",
    "runtime",
    "kind",
    "metric",
    "label",
    "shape",
    "samples",
    "rows",
    "split",
    "status",
    "why",
)
# A run that missed more than this share of its ticks is no longer the length it claims.
MAX_MISSED = 0.1


def build_programs(folder: Path) -> Build:
    """Compile workload.c with gcc and Workload.java with javac into `folder`."""
    binary = folder / "workload"
    classes = folder / "classes"
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(HERE / "workload.c"), "-lm"], check=True)
    subprocess.run(["javac", "-d", str(classes), str(HERE / "Workload.java")], check=True)
    scratch = folder / "scratch"
    scratch.mkdir()
    return Build(binary, classes, scratch)


def run_monitor(
    workload: Workload, build: Build, folder: Path, window_s: float, interval_s: float, tag: str = ""
) -> Path:
    """Record one workload through the monitor; the path of its report."""
    reports = folder / f"{workload.name}{tag}"
    reports.mkdir()
    command = [
        sys.executable,
        str(ROOT / "main.py"),
        "-d",
        f"{window_s:g}",
        "-s",
        f"{interval_s:g}",
        "-q",
        "--no-plot",
        "-r",
        str(reports),
        "-l",
        str(reports),
        "--",
        *workload.command(build, window_s),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    found = [p for p in reports.glob("*.csv") if not p.name.endswith("_processes.csv")]
    if done.returncode != 0 or len(found) != 1:
        raise RuntimeError(f"{workload.name}: the monitor ended with status {done.returncode}: {done.stderr.strip()}")
    return found[0]


def compact(report: Path) -> pd.DataFrame:
    """The report's rows with a process in them, only the columns kept, numbers rounded to what matters."""
    frame = pd.read_csv(report, dtype={"timestamp": str})
    # The last row of a tree that exited holds only the CPU it spent: no process, no memory.
    frame = frame.dropna(subset=["private_memory", "handles_fds"])
    frame = frame.loc[:, list(COLUMNS)].copy()
    frame["swapped_memory"] = frame["swapped_memory"].fillna(0)
    for column in ("private_memory", "handles_fds", "process_count", "swapped_memory"):
        frame[column] = frame[column].round().astype("int64")
    frame["cpu_percent"] = frame["cpu_percent"].round(1)
    frame["elapsed_s"] = frame["elapsed_s"].round(3)
    return frame.reset_index(drop=True)


def every_kth(frame: pd.DataFrame, length: int) -> pd.DataFrame:
    """`length` evenly spaced rows of the run, its first and last included."""
    rows = np.unique(np.round(np.linspace(0, len(frame) - 1, length)).astype(int))
    return frame.iloc[rows].reset_index(drop=True)


def judged(frame: pd.DataFrame, metric: str) -> np.ndarray:
    """The values the detector judges: private plus swapped memory, or descriptors."""
    if metric == MEMORY:
        return (frame["private_memory"] + frame["swapped_memory"]).to_numpy(dtype=float)
    return frame["handles_fds"].to_numpy(dtype=float)


def traces_of(workload: Workload, frames: dict[int, pd.DataFrame], out: Path, one_run: bool) -> list[dict[str, str]]:
    """Write the workload's traces (by length), check their labels; the manifest rows.

    When the traces are taken from `one_run`, a shorter one is kept only when the whole run passes the
    same check too; traces recorded apart are checked each on its own.
    """
    rows = []
    whole: dict[str, tuple[bool, str]] = {}
    for length in sorted(frames, reverse=True):
        trace = frames[length]
        name = f"{workload.name}_{length}.csv"
        kept = False
        for label in workload.labels:
            if len(trace) < (1 - MAX_MISSED) * length:
                ok, why = False, f"{len(trace)} rows of {length}: too many missed ticks"
            else:
                ok, why = check_label(label.label, label.metric, judged(trace, label.metric))
            if length == max(frames):
                whole[label.metric] = ok, why
            elif one_run and ok and not whole[label.metric][0]:
                ok, why = False, f"the whole run fails its check ({whole[label.metric][1]}); here {why}"
            kept |= ok
            rows.append(
                {
                    "file": name,
                    "workload": workload.name,
                    "family": workload.family,
                    "runtime": workload.runtime,
                    "kind": workload.kind,
                    "metric": label.metric,
                    "label": label.label,
                    "shape": label.shape,
                    "samples": str(length),
                    "rows": str(len(trace)),
                    "split": workload.split,
                    "status": "kept" if ok else "dropped",
                    "why": why,
                }
            )
        if kept:
            trace.to_csv(out / name, index=False)
        else:
            (out / name).unlink(missing_ok=True)
    return rows


def record(
    workload: Workload,
    build: Build,
    folder: Path,
    out: Path,
    window_s: float,
    interval_s: float,
    lengths: tuple[int, ...] | None = None,
) -> list[dict[str, str]]:
    """Record, compact, derive, check and write one workload; its manifest rows.

    Without `lengths`, one run at `interval_s` gives every length (the shorter ones as evenly spaced rows
    of it); with `lengths`, each is a run of its own over the same window, at window / length.
    """
    started = time.monotonic()
    if lengths is None:
        frame = compact(run_monitor(workload, build, folder, window_s, interval_s))
        frames = {n: frame if n == max(LENGTHS) else every_kth(frame, n) for n in LENGTHS}
    else:
        frames = {
            n: compact(run_monitor(workload, build, folder, window_s, window_s / n, tag=f"-{n}")) for n in lengths
        }
    rows = traces_of(workload, frames, out, one_run=lengths is None)
    states = ", ".join(f"{r['metric']} {r['samples']} {r['status']}" for r in rows)
    sizes = "/".join(str(len(frame)) for frame in frames.values())
    # One write per line: two recording threads print at once.
    sys.stdout.write(f"{workload.name}: {sizes} samples in {time.monotonic() - started:.0f} s; {states}\n")
    sys.stdout.flush()
    return rows


def write_manifest(out: Path, rows: list[dict[str, str]], catalogue: list[Workload] = WORKLOADS) -> None:
    """The manifest: earlier rows of the traces not recorded now, then the new ones, in catalogue order.

    Rows of workloads the catalogue no longer has are left out, and their traces removed.
    """
    path = out / MANIFEST
    order = {w.name: i for i, w in enumerate(catalogue)}
    if path.exists():
        with path.open(newline="") as handle:
            replaced = {row["file"] for row in rows}
            earlier = [row for row in csv.DictReader(handle) if row["file"] not in replaced]
        for row in earlier:
            if row["workload"] not in order:
                (out / row["file"]).unlink(missing_ok=True)
        rows = [row for row in earlier if row["workload"] in order] + rows
    rows.sort(key=lambda r: (order[r["workload"]], int(r["samples"]), r["metric"]))
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "traces", help="folder of the traces and the manifest")
    parser.add_argument("--only", help="record only the workloads whose name matches this regular expression")
    parser.add_argument(
        "--fresh", action="store_true", help="record the reseeded instances (split `fresh`) instead of the corpus"
    )
    parser.add_argument("--jobs", type=int, choices=(1, 2), default=1, help="workloads recorded at once")
    parser.add_argument("--window", type=float, default=50.0, help="seconds of each recording")
    parser.add_argument("--interval", type=float, default=0.125, help="seconds between samples")
    parser.add_argument(
        "--separate",
        type=int,
        nargs="+",
        choices=LENGTHS,
        metavar="SAMPLES",
        help="record these lengths each as a run of its own over the window (at window / SAMPLES)",
    )
    args = parser.parse_args()
    catalogue = FRESH if args.fresh else WORKLOADS
    separate = tuple(sorted(set(args.separate))) if args.separate else None
    chosen = [w for w in catalogue if not args.only or re.search(args.only, w.name)]
    if not chosen:
        parser.error(f"no workload matches {args.only!r}")
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="real-corpus-") as temporary:
        folder = Path(temporary)
        build = build_programs(folder)
        files = [str(p) for p in runtime_files([build.c_binary])]
        pinner = subprocess.Popen(
            [sys.executable, str(HERE / "pin.py"), *files], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            assert pinner.stdout is not None
            print(pinner.stdout.readline().strip(), flush=True)
            with ThreadPoolExecutor(max_workers=args.jobs) as pool:
                results = list(
                    pool.map(
                        lambda w: record(w, build, folder, args.out, args.window, args.interval, separate),
                        chosen,
                    )
                )
        finally:
            if pinner.stdin:
                pinner.stdin.close()
            pinner.wait()
    rows = [row for result in results for row in result]
    write_manifest(args.out, rows, catalogue)
    kept = sum(row["status"] == "kept" for row in rows)
    minutes = (time.monotonic() - started) / 60
    print(f"{len(chosen)} workloads, {kept} of {len(rows)} labelled traces kept, in {minutes:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
