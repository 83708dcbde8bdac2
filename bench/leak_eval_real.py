"""Precision, recall and F1 of the trend detector on the real-program corpus, through `main.py --analyze --json`.

    python bench/leak_eval_real.py [--split holdout|tune|fresh|all] [--markdown FILE] [--traces DIR]

Reads the corpus's manifest (bench/real_corpus/traces/manifest.csv, written by
bench/real_corpus/record.py), takes the kept traces of the split (holdout by default: the odd
instances of every family; tune: the even ones; fresh: the reseeded instances of
bench/real_corpus/fresh/, recorded apart after the detector was set), has the monitor analyse them in batches and scores
its verdicts per metric and length: precision, recall and F1 (an inconclusive verdict counts as
"not a leak"), false alarms, leaks called no-leak, and the inconclusive share. Prints the tables, the
alert rate of every family and every trace it got wrong; --markdown also writes the tables as
Markdown. Exits 1 when a target of bench/leak_eval.py is missed (the same targets and table): F1 >=
0.95 at 120 and 400 samples and >= 0.85 at 30 for both metrics; at 120 samples and more no false
alarm, no leak called no-leak and under 10% inconclusive.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.leak_eval import (  # noqa: E402 - after the path is set
    Row,
    markdown_table,
    score_table,
    score_verdicts,
    text_table,
)
from monitor.analysis.trend import Verdict  # noqa: E402

TRACES = ROOT / "bench" / "real_corpus" / "traces"
# The reseeded instances recorded apart (record.py --fresh): the split `fresh`.
FRESH = ROOT / "bench" / "real_corpus" / "fresh"
MANIFEST = "manifest.csv"
LENGTHS = (30, 120, 400)
METRICS = {"memory": "private_memory", "handles": "handles_fds"}
BATCH = 40


@dataclass(frozen=True)
class Case:
    """One kept trace judged on one metric, with the detector's verdict."""

    file: str
    family: str
    metric: str
    leak: bool
    samples: int
    verdict: str
    reason: str


def read_manifest(traces: Path, split: str) -> list[dict[str, str]]:
    """The manifest's kept rows of the split."""
    with (traces / MANIFEST).open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["status"] == "kept"]
    return [row for row in rows if split == "all" or row["split"] == split]


def analyse(paths: list[Path], batch: int = BATCH) -> dict[str, dict[str, dict[str, str]]]:
    """The monitor's leak verdicts per file (`--analyze --json`, `batch` files per run)."""
    found: dict[str, dict[str, dict[str, str]]] = {}
    for start in range(0, len(paths), batch):
        chunk = [str(path) for path in paths[start : start + batch]]
        done = subprocess.run(
            [sys.executable, str(ROOT / "main.py"), "--analyze", *chunk, "--json"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        for line in done.stdout.splitlines():
            document = json.loads(line)
            found[document["file"]] = document["leak"]
        missing = [path for path in chunk if path not in found]
        if missing:
            raise SystemExit(f"error: no verdict for {', '.join(missing)}: {done.stderr.strip()}")
    return found


def judge(traces: Path, rows: list[dict[str, str]]) -> list[Case]:
    """Every kept (trace, metric) of the rows with the detector's verdict on it."""
    paths = sorted({traces / row["file"] for row in rows})
    verdicts = analyse(paths)
    cases = []
    for row in rows:
        said = verdicts[str(traces / row["file"])][METRICS[row["metric"]]]
        cases.append(
            Case(
                row["file"],
                row["family"],
                row["metric"],
                row["label"] == "leak",
                int(row["samples"]),
                said["verdict"],
                said.get("reason", ""),
            )
        )
    return cases


def score(cases: list[Case], metric: str, samples: int) -> Row:
    """One metric's scores at one length, with the targets it misses."""
    subset = [c for c in cases if c.metric == metric and c.samples == samples]
    return score_verdicts(metric, samples, [(c.leak, Verdict(c.verdict)) for c in subset])


def family_rates(cases: list[Case]) -> list[tuple[str, ...]]:
    """Per family and metric: its label and the share of its traces called a leak, by length."""
    rates: dict[tuple[str, str, bool], dict[int, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for case in cases:
        rates[(case.family, case.metric, case.leak)][case.samples].append(case.verdict == "leak")
    lines = []
    for (family, metric, leak), by_length in rates.items():
        shares = [f"{sum(by_length[n])}/{len(by_length[n])}" if by_length[n] else "-" for n in LENGTHS]
        lines.append((family, metric, "leak" if leak else "no-leak", *shares))
    return lines


def misses(cases: list[Case]) -> list[tuple[str, ...]]:
    """Every trace the detector got wrong, with its verdict and reason."""
    wrong = [c for c in cases if c.leak != (c.verdict == "leak")]
    return [(c.file, c.metric, "leak" if c.leak else "no-leak", c.verdict, c.reason) for c in wrong]


def report(cases: list[Case], split: str, markdown: bool = False) -> tuple[list[str], bool]:
    """The report's lines (text or Markdown tables) and whether every target was met."""
    render = markdown_table if markdown else text_table
    rows = [score(cases, metric, n) for metric in METRICS for n in LENGTHS]
    files = len({c.file for c in cases})
    lines = [f"{split} split: {len(cases)} labelled traces ({files} files)", ""]
    lines += score_table(rows, markdown)
    lines += ["", "alert rate per family (traces called a leak / traces), by length 30, 120, 400", ""]
    lines += render(("family", "metric", "label", "30", "120", "400"), family_rates(cases))
    wrong = misses(cases)
    lines += ["", f"traces the detector got wrong: {len(wrong)}", ""]
    if wrong:
        lines += render(("file", "metric", "label", "verdict", "reason"), wrong)
    return lines, all(not row.failures for row in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("holdout", "tune", "fresh", "all"), default="holdout")
    parser.add_argument(
        "--traces", type=Path, help="folder of the traces and their manifest (default: traces/, or fresh/ for fresh)"
    )
    parser.add_argument("--markdown", type=Path, help="also write the tables to this Markdown file")
    args = parser.parse_args()
    if args.traces is None:
        args.traces = FRESH if args.split == "fresh" else TRACES
    if not (args.traces / MANIFEST).is_file():
        parser.error(f"no {MANIFEST} in {args.traces}; record the corpus with bench/real_corpus/record.py")
    started = time.perf_counter()
    traces = args.traces.resolve()
    cases = judge(traces, read_manifest(traces, args.split))
    lines, ok = report(cases, args.split)
    print("\n".join(lines))
    print(f"\n{'all targets met' if ok else 'some targets missed'} in {time.perf_counter() - started:.0f} s")
    if args.markdown:
        tables, _ = report(cases, args.split, markdown=True)
        args.markdown.write_text("\n".join(tables) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
