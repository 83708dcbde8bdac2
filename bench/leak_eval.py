"""Precision, recall and F1 of the trend detector and the README heuristic on the labelled synthetic corpus.

    python bench/leak_eval.py [--split holdout|tune] [--seeds 3] [--repeats 2] [--markdown FILE]

The corpus is generated from several seeds; the even seeds are for tuning the detector, the odd
ones are held out and reported by default. Prints the scores per metric and length (an inconclusive
verdict counts as "not a leak" for F1) with the false alarms, the leaks called no-leak and the share
of inconclusive verdicts, then the verdicts per shape; --markdown also writes them as Markdown tables.
Exits 1 when a target is missed:
F1 >= 0.95 at 120 samples and more and >= 0.85 at 30; from 120 samples on, no false alarm, no
leak called no-leak and under 10% inconclusive. bench/leak_eval_real.py scores the real-program
corpus with the same targets and tables.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.leak_corpus import LENGTHS, PAGE, Case, generate, split_seeds
from monitor.analysis.running import readme_heuristic
from monitor.analysis.trend import Verdict, detect_trend

F1_TARGETS = {30: 0.85, 120: 0.95, 400: 0.95, 2000: 0.95}
# From this length on: no false alarm, no leak called no-leak, under MAX_INCONCLUSIVE inconclusive.
STRICT_FROM = 120
MAX_INCONCLUSIVE = 0.10


def detector_verdict(case: Case) -> Verdict:
    """The trend detector's verdict on one case."""
    quantum = PAGE if case.metric == "memory" else 1
    return detect_trend(case.t, case.y, quantum).verdict


def detector_says_leak(case: Case) -> bool:
    """Whether the trend detector calls one case a leak."""
    return detector_verdict(case) is Verdict.LEAK


def heuristic_says_leak(case: Case) -> bool:
    """The README rule's verdict on one case."""
    return readme_heuristic(case.y).leak


def scores(pairs: list[tuple[bool, bool]]) -> tuple[float, float, float]:
    """Precision, recall, F1 from (truth, said) pairs."""
    tp = sum(truth and said for truth, said in pairs)
    fp = sum(said and not truth for truth, said in pairs)
    fn = sum(truth and not said for truth, said in pairs)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


Said = list[tuple[Case, Verdict, bool]]


@dataclass(frozen=True)
class Row:
    """The scores of one metric at one length (with the README heuristic's F1 beside them, where judged)."""

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
    heuristic_f1: float | None = None


def score_verdicts(
    metric: str, n: int, judged: list[tuple[bool, Verdict]], heuristic: list[tuple[bool, bool]] | None = None
) -> Row:
    """The scores of (label is a leak, verdict) pairs of one metric at one length, with the targets missed."""
    precision, recall, f1 = scores([(leak, said is Verdict.LEAK) for leak, said in judged])
    false_alarms = sum(said is Verdict.LEAK and not leak for leak, said in judged)
    missed = sum(said is Verdict.NO_LEAK and leak for leak, said in judged)
    inconclusive = sum(said is Verdict.INCONCLUSIVE for _, said in judged) / max(len(judged), 1)
    failures = []
    if judged and f1 < F1_TARGETS[n]:
        failures.append(f"F1 < {F1_TARGETS[n]:.2f}")
    if n >= STRICT_FROM and false_alarms:
        failures.append("false alarms")
    if n >= STRICT_FROM and missed:
        failures.append("leaks called no-leak")
    if n >= STRICT_FROM and inconclusive >= MAX_INCONCLUSIVE:
        failures.append(f"inconclusive >= {MAX_INCONCLUSIVE:.0%}")
    return Row(
        metric,
        n,
        len(judged),
        sum(leak for leak, _ in judged),
        precision,
        recall,
        f1,
        false_alarms,
        missed,
        inconclusive,
        tuple(failures),
        None if heuristic is None else scores(heuristic)[2],
    )


def score(said: Said, metric: str, n: int) -> Row:
    """One metric's scores at one length, the README heuristic's F1 beside them."""
    subset = [(c, d, h) for c, d, h in said if c.metric == metric and len(c.y) == n]
    return score_verdicts(metric, n, [(c.leak, d) for c, d, _ in subset], [(c.leak, h) for c, _, h in subset])


def score_table(rows: list[Row], markdown: bool = False) -> list[str]:
    """The scores as a table (text or Markdown); the README rule's column only when it was judged."""
    heuristic = any(row.heuristic_f1 is not None for row in rows)
    header = (
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
        *(("README rule F1",) if heuristic else ()),
        "targets",
    )
    lines = [
        (
            row.metric,
            str(row.samples),
            str(row.cases),
            str(row.leaks),
            f"{row.precision:.3f}",
            f"{row.recall:.3f}",
            f"{row.f1:.3f}",
            str(row.false_alarms),
            str(row.missed_as_no_leak),
            f"{row.inconclusive:.1%}",
            *((f"{row.heuristic_f1:.3f}" if row.heuristic_f1 is not None else "-",) if heuristic else ()),
            "PASS" if not row.failures else "FAIL: " + ", ".join(row.failures),
        )
        for row in rows
    ]
    return (markdown_table if markdown else text_table)(header, lines)


def shape_rows(said: Said) -> list[tuple[str, ...]]:
    """Per shape: its label and its verdicts by length as leak/no-leak/inconclusive counts."""
    counts: dict[tuple[str, str, bool], dict[int, list[Verdict]]] = defaultdict(lambda: defaultdict(list))
    for case, d, _ in said:
        counts[(case.shape, case.metric, case.leak)][len(case.y)].append(d)
    return [
        (
            shape,
            metric,
            "leak" if leak else "no-leak",
            *("/".join(str(sum(v is kind for v in by_n[n])) for kind in Verdict) for n in LENGTHS),
        )
        for (shape, metric, leak), by_n in counts.items()
    ]


def text_table(header: tuple[str, ...], lines: list[tuple[str, ...]]) -> list[str]:
    """Columns aligned for the terminal."""
    widths = [max(len(row[i]) for row in (header, *lines)) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in (header, *lines)]


def markdown_table(header: tuple[str, ...], lines: list[tuple[str, ...]]) -> list[str]:
    """A GitHub Markdown table."""
    rows = [header, tuple("---" for _ in header), *lines]
    return ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]


def evaluate(cases: list[Case], markdown: bool = False) -> tuple[list[str], bool]:
    """The report's lines (text or Markdown tables) and whether every target was met."""
    said = [(case, detector_verdict(case), heuristic_says_leak(case)) for case in cases]
    render = markdown_table if markdown else text_table
    rows = [score(said, metric, n) for metric in ("memory", "handles") for n in LENGTHS]
    lines = score_table(rows, markdown)
    lines += ["", f"verdicts per shape: leak/no-leak/inconclusive, by length {', '.join(map(str, LENGTHS))}", ""]
    lines += render(("shape", "metric", "label", *map(str, LENGTHS)), shape_rows(said))
    return lines, all(not row.failures for row in rows)


def corpus(split: str, seeds: int, repeats: int) -> list[Case]:
    """Every case of the chosen split's seeds."""
    return [case for seed in split_seeds(split, seeds) for case in generate(seed, repeats=repeats)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("holdout", "tune"), default="holdout")
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the split to generate the corpus from")
    parser.add_argument("--repeats", type=int, default=2, help="cases per shape, length and interval, per seed")
    parser.add_argument("--markdown", type=Path, help="also write the tables to this Markdown file")
    args = parser.parse_args()
    started = time.perf_counter()
    cases = corpus(args.split, args.seeds, args.repeats)
    lines, ok = evaluate(cases)
    print(f"{args.split} split, seeds {split_seeds(args.split, args.seeds)}, {len(cases)} cases\n")
    print("\n".join(lines))
    print(f"\n{'all targets met' if ok else 'some targets missed'} in {time.perf_counter() - started:.0f} s")
    if args.markdown:
        tables, _ = evaluate(cases, markdown=True)
        args.markdown.write_text("\n".join(tables) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
