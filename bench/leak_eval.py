"""Precision, recall and F1 of the trend detector and the README heuristic on the labelled corpus.

    python bench/leak_eval.py [--split holdout|tune] [--seeds 3] [--repeats 2]

The corpus is generated from several seeds; the even seeds are for tuning the detector, the odd
ones are held out and reported by default. Prints one table per metric (rows: series length) and the
alert rate per shape; exits 1 when a target of the leak-analysis issue is missed: F1 >= 0.95 at 120
samples and more, >= 0.90 at 30, and no false alarm on any no-leak shape at 120 samples and more.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.leak_corpus import LENGTHS, PAGE, Case, generate, split_seeds
from monitor.analysis.running import readme_heuristic
from monitor.analysis.trend import Verdict, detect_trend

F1_TARGETS = {30: 0.90, 120: 0.95, 400: 0.95, 2000: 0.95}
# From this length on, no no-leak shape may raise a single alarm.
NO_FALSE_ALARM_FROM = 120


def detector_says_leak(case: Case) -> bool:
    """The trend detector's verdict on one case."""
    quantum = PAGE if case.metric == "memory" else 1
    return detect_trend(case.t, case.y, quantum).verdict is Verdict.LEAK


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


Said = list[tuple[Case, bool, bool]]


def score_table(said: Said, metric: str) -> tuple[list[str], bool]:
    """One metric's precision, recall and F1 by length, and whether every F1 target was met."""
    ok = True
    lines = [f"\n{metric}: {'':6} {'trend detector':>26}   {'README heuristic':>26}"]
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
            f"   {heuristic[0]:6.3f} {heuristic[1]:6.3f} {heuristic[2]:6.3f}   {verdict} (F1 >= {F1_TARGETS[n]:.2f})"
        )
    return lines, ok


def shape_table(said: Said) -> tuple[list[str], bool]:
    """The alert rate of every shape by length, and whether no no-leak shape alarmed where it must not."""
    ok = True
    lines = [f"\nalert rate per shape (share of cases called a leak), detector / heuristic, by length {LENGTHS}"]
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
            if not leak and n >= NO_FALSE_ALARM_FROM and d_rate > 0:
                ok = False
                cells[-1] += " FAIL"
        lines.append(f"  {shape:24} {'leak' if leak else 'no-leak':8} " + "  ".join(cells))
    return lines, ok


def evaluate(cases: list[Case]) -> tuple[list[str], bool]:
    """The report lines and whether every target was met."""
    said = [(case, detector_says_leak(case), heuristic_says_leak(case)) for case in cases]
    lines: list[str] = []
    ok = True
    for metric in ("memory", "handles"):
        metric_lines, metric_ok = score_table(said, metric)
        lines += metric_lines
        ok &= metric_ok
    shape_lines, shapes_ok = shape_table(said)
    return lines + shape_lines, ok and shapes_ok


def corpus(split: str, seeds: int, repeats: int) -> list[Case]:
    """Every case of the chosen split's seeds."""
    return [case for seed in split_seeds(split, seeds) for case in generate(seed, repeats=repeats)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("holdout", "tune"), default="holdout")
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the split to generate the corpus from")
    parser.add_argument("--repeats", type=int, default=2, help="cases per shape, length and interval, per seed")
    args = parser.parse_args()
    started = time.perf_counter()
    cases = corpus(args.split, args.seeds, args.repeats)
    lines, ok = evaluate(cases)
    print(f"{args.split} split, seeds {split_seeds(args.split, args.seeds)}, {len(cases)} cases")
    print("\n".join(lines))
    print(f"\n{'all targets met' if ok else 'some targets missed'} in {time.perf_counter() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
