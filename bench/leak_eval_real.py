"""Precision, recall and F1 of the trend detector on the real-program corpus, through `main.py --analyze --json`.

    python bench/leak_eval_real.py [--split holdout|tune|all] [--markdown FILE] [--traces DIR]

Reads the corpus's manifest (bench/real_corpus/traces/manifest.csv, written by
bench/real_corpus/record.py), takes the kept traces of the split (holdout by default: the odd
instances of every family; tune: the even ones), has the monitor analyse them in batches and scores
its verdicts per metric and length: precision, recall and F1 (an inconclusive verdict counts as
"not a leak"), false alarms, leaks called no-leak, and the inconclusive share. Prints the tables, the
alert rate of every family and every trace it got wrong; --markdown also writes the tables as
Markdown. Exits 1 when a target is missed: F1 >= 0.95 at 120 and 400 samples and >= 0.85 at 30 for
both metrics, no false alarm and no leak called no-leak at 120 samples and more, and under 10%
inconclusive.
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

from bench.leak_eval import scores  # noqa: E402 - after the path is set

TRACES = ROOT / "bench" / "real_corpus" / "traces"
MANIFEST = "manifest.csv"
LENGTHS = (30, 120, 400)
METRICS = {"memory": "private_memory", "handles": "handles_fds"}
F1_TARGETS = {30: 0.85, 120: 0.95, 400: 0.95}
# From this length on, no false alarm and no leak called no-leak.
STRICT_FROM = 120
MAX_INCONCLUSIVE = 0.10
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


@dataclass(frozen=True)
class Row:
    """The scores of one metric at one length."""

    metric: str
    samples: int
    cases: int
    leaks: int
    precision: float
    recall: float
    f1: float
    false_alarms: int
    missed_as_no_leak: int
    inconclusive: float
    failures: tuple[str, ...]


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
    precision, recall, f1 = scores([(c.leak, c.verdict == "leak") for c in subset])
    fp = sum(c.verdict == "leak" and not c.leak for c in subset)
    missed = sum(c.leak and c.verdict == "no-leak" for c in subset)
    inconclusive = sum(c.verdict == "inconclusive" for c in subset) / len(subset) if subset else 0.0
    failures = []
    if subset and f1 < F1_TARGETS[samples]:
        failures.append(f"F1 < {F1_TARGETS[samples]:.2f}")
    if samples >= STRICT_FROM and fp:
        failures.append("false alarms")
    if samples >= STRICT_FROM and missed:
        failures.append("leaks called no-leak")
    if inconclusive >= MAX_INCONCLUSIVE:
        failures.append(f"inconclusive >= {MAX_INCONCLUSIVE:.0%}")
    leaks = sum(c.leak for c in subset)
    return Row(metric, samples, len(subset), leaks, precision, recall, f1, fp, missed, inconclusive, tuple(failures))


HEADER = (
    "metric",
    "samples",
    "cases",
    "leaks",
    "precision",
    "recall",
    "F1",
    "false alarms",
    "leaks called no-leak",
    "inconclusive",
    "targets",
)


def cells(row: Row) -> tuple[str, ...]:
    """A table row's cells."""
    verdict = "PASS" if not row.failures else "FAIL: " + ", ".join(row.failures)
    return (
        row.metric,
        str(row.samples),
        str(row.cases),
        str(row.leaks),
        f"{row.precision:.3f}",
        f"{row.recall:.3f}",
        f"{row.f1:.3f}",
        str(row.false_alarms),
        str(row.missed_as_no_leak),
        f"{row.inconclusive:.0%}",
        verdict,
    )


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


def text_table(header: tuple[str, ...], lines: list[tuple[str, ...]]) -> list[str]:
    """Columns aligned for the terminal."""
    widths = [max(len(row[i]) for row in (header, *lines)) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in (header, *lines)]


def markdown_table(header: tuple[str, ...], lines: list[tuple[str, ...]]) -> list[str]:
    """A GitHub Markdown table."""
    rows = [header, tuple("---" for _ in header), *lines]
    return ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]


def report(cases: list[Case], split: str, markdown: bool = False) -> tuple[list[str], bool]:
    """The report's lines (text or Markdown tables) and whether every target was met."""
    render = markdown_table if markdown else text_table
    rows = [score(cases, metric, n) for metric in METRICS for n in LENGTHS]
    files = len({c.file for c in cases})
    lines = [f"{split} split: {len(cases)} labelled traces ({files} files)", ""]
    lines += render(HEADER, [cells(row) for row in rows])
    lines += ["", "alert rate per family (traces called a leak / traces), by length 30, 120, 400", ""]
    lines += render(("family", "metric", "label", "30", "120", "400"), family_rates(cases))
    wrong = misses(cases)
    lines += ["", f"traces the detector got wrong: {len(wrong)}", ""]
    if wrong:
        lines += render(("file", "metric", "label", "verdict", "reason"), wrong)
    return lines, all(not row.failures for row in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("holdout", "tune", "all"), default="holdout")
    parser.add_argument("--traces", type=Path, default=TRACES, help="folder of the traces and their manifest")
    parser.add_argument("--markdown", type=Path, help="also write the tables to this Markdown file")
    args = parser.parse_args()
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
