"""Precision, recall and F1 of the trend detector and the README heuristic on the labelled synthetic corpus.

    python bench/leak_eval.py [--split holdout|tune] [--seeds 3] [--repeats 2]

The corpus is generated from several seeds; the even seeds are for tuning the detector, the odd
ones are held out and reported by default. Prints one table per metric (rows: series length; an
inconclusive verdict counts as "not a leak" for F1) with the false alarms, the leaks called no-leak
and the share of inconclusive verdicts, then the verdicts per shape. Exits 1 when a target is missed:
F1 >= 0.95 at 120 samples and more and >= 0.85 at 30; from 120 samples on, no false alarm and no
leak called no-leak; under 10% inconclusive from 120 samples on.
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


def score_table(said: Said, metric: str) -> tuple[list[str], bool]:
    """One metric's scores by length, and whether every target was met."""
    ok = True
    lines = [f"\n{metric}: {'':6} {'trend detector':>26}   {'README heuristic':>20}"]
    columns = f"{'prec':>6} {'recall':>6} {'F1':>6}"
    lines.append(
        f"{'samples':>8} {'cases':>6}   {columns} {'false':>6} {'missed':>7} {'incon.':>7}   {columns}   targets"
    )
    for n in LENGTHS:
        subset = [(c, d, h) for c, d, h in said if c.metric == metric and len(c.y) == n]
        detector = scores([(c.leak, d is Verdict.LEAK) for c, d, _ in subset])
        heuristic = scores([(c.leak, h) for c, _, h in subset])
        false_alarms = sum(d is Verdict.LEAK and not c.leak for c, d, _ in subset)
        missed = sum(d is Verdict.NO_LEAK and c.leak for c, d, _ in subset)
        inconclusive = sum(d is Verdict.INCONCLUSIVE for _, d, _ in subset) / max(len(subset), 1)
        failures = []
        if detector[2] < F1_TARGETS[n]:
            failures.append(f"F1 < {F1_TARGETS[n]:.2f}")
        if n >= STRICT_FROM and false_alarms:
            failures.append("false alarms")
        if n >= STRICT_FROM and missed:
            failures.append("leaks called no-leak")
        if n >= STRICT_FROM and inconclusive >= MAX_INCONCLUSIVE:
            failures.append(f"inconclusive >= {MAX_INCONCLUSIVE:.0%}")
        ok &= not failures
        lines.append(
            f"{n:>8} {len(subset):>6}   {detector[0]:6.3f} {detector[1]:6.3f} {detector[2]:6.3f}"
            f" {false_alarms:>6} {missed:>7} {inconclusive:>7.1%}"
            f"   {heuristic[0]:6.3f} {heuristic[1]:6.3f} {heuristic[2]:6.3f}"
            f"   {'PASS' if not failures else 'FAIL: ' + ', '.join(failures)}"
        )
    return lines, ok


def shape_table(said: Said) -> list[str]:
    """The detector's verdicts per shape by length: leak / no-leak / inconclusive counts."""
    lines = [f"\nverdicts per shape (leak/no-leak/inconclusive), by length {LENGTHS}"]
    counts: dict[tuple[str, bool], dict[int, list[Verdict]]] = defaultdict(lambda: defaultdict(list))
    for case, d, _ in said:
        counts[(case.shape, case.leak)][len(case.y)].append(d)
    for (shape, leak), by_n in counts.items():
        cells = ["/".join(f"{sum(v is kind for v in by_n[n]):>2}" for kind in Verdict) for n in LENGTHS]
        lines.append(f"  {shape:24} {'leak' if leak else 'no-leak':8} " + "   ".join(cells))
    return lines


def evaluate(cases: list[Case]) -> tuple[list[str], bool]:
    """The report lines and whether every target was met."""
    said = [(case, detector_verdict(case), heuristic_says_leak(case)) for case in cases]
    lines: list[str] = []
    ok = True
    for metric in ("memory", "handles"):
        metric_lines, metric_ok = score_table(said, metric)
        lines += metric_lines
        ok &= metric_ok
    return lines + shape_table(said), ok


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
