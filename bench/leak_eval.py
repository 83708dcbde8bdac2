"""Precision, recall and F1 of the trend detector and the README heuristic on the labelled corpus.

    python bench/leak_eval.py [--seed 0] [--repeats 6]

Prints one table per metric (rows: series length) and the alert rate per shape; exits 1 when a
target of the leak-analysis issue is missed (F1 >= 0.95 at 120 and 400 samples, >= 0.85 at 30, and
no false alarm on flat, flat-floor sawtooth, plateau or spike shapes at 120 samples and more).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.leak_corpus import LENGTHS, PAGE, Case, generate
from monitor.analysis import readme_heuristic
from monitor.trend import LEAK, detect_trend

F1_TARGETS = {30: 0.85, 120: 0.95, 400: 0.95}
NEVER_ALARM = ("flat", "sawtooth-flat-floor", "plateau", "spike", "fd-flat", "fd-plateau", "fd-spike")


def detector_says_leak(case: Case) -> bool:
    """The trend detector's verdict on one case."""
    quantum = PAGE if case.metric == "memory" else 1
    return detect_trend(case.t, case.y, quantum).verdict == LEAK


def heuristic_says_leak(case: Case) -> bool:
    """The README rule's verdict on one case."""
    return readme_heuristic(case.y.tolist()).leak


def scores(pairs: list[tuple[bool, bool]]) -> tuple[float, float, float]:
    """Precision, recall, F1 from (truth, said) pairs."""
    tp = sum(truth and said for truth, said in pairs)
    fp = sum(said and not truth for truth, said in pairs)
    fn = sum(truth and not said for truth, said in pairs)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def evaluate(cases: list[Case]) -> tuple[list[str], bool]:
    """The report lines and whether every target was met."""
    ok = True
    lines: list[str] = []
    said = [(case, detector_says_leak(case), heuristic_says_leak(case)) for case in cases]
    for metric in ("memory", "handles"):
        lines.append(f"\n{metric}: {'':6} {'trend detector':>26}   {'README heuristic':>26}")
        columns = f"{'prec':>6} {'recall':>6} {'F1':>6}"
        lines.append(f"{'samples':>8} {'cases':>6}   {columns}   {columns}")
        for n in LENGTHS:
            subset = [(c, d, h) for c, d, h in said if c.metric == metric and len(c.y) == n]
            detector = scores([(c.leak, d) for c, d, _ in subset])
            heuristic = scores([(c.leak, h) for c, _, h in subset])
            verdict = "PASS" if detector[2] >= F1_TARGETS[n] else "FAIL"
            ok &= verdict == "PASS"
            lines.append(
                f"{n:>8} {len(subset):>6}   {detector[0]:6.3f} {detector[1]:6.3f} {detector[2]:6.3f}"
                f"   {heuristic[0]:6.3f} {heuristic[1]:6.3f} {heuristic[2]:6.3f}   {verdict} (F1 >= {F1_TARGETS[n]})"
            )
    lines.append(f"\nalert rate per shape (share of cases called a leak), detector / heuristic, by length {LENGTHS}")
    rates: dict[tuple[str, bool], dict[int, list[tuple[bool, bool]]]] = defaultdict(lambda: defaultdict(list))
    for case, d, h in said:
        rates[(case.shape, case.leak)][len(case.y)].append((d, h))
    for (shape, leak), by_n in rates.items():
        cells = []
        for n in LENGTHS:
            votes = by_n[n]
            d_rate = sum(d for d, _ in votes) / len(votes)
            h_rate = sum(h for _, h in votes) / len(votes)
            cells.append(f"{d_rate:4.2f}/{h_rate:4.2f}")
            if shape in NEVER_ALARM and n >= 120 and d_rate > 0:
                ok = False
                cells[-1] += " FAIL"
        lines.append(f"  {shape:24} {'leak' if leak else 'no-leak':8} " + "  ".join(cells))
    return lines, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=6, help="cases per shape, length and interval")
    args = parser.parse_args()
    lines, ok = evaluate(generate(args.seed, repeats=args.repeats))
    print("\n".join(lines))
    print("\nall targets met" if ok else "\nsome targets missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
