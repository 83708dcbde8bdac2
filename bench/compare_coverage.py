"""How often the interval of --compare leaves out a change of 0 when nothing changed, on simulated noise.

    python bench/compare_coverage.py [--pairs 200]

For AR(1) noise of each strength (phi) and run length, draws that many pairs of independent runs with
the same level and computes the 95% interval of the change as --compare does (circular block
bootstrap, widened for the blocks' bias and their number). A calibrated interval leaves out 0 in about
5% of the pairs. Prints the share per case and exits 1 when any case with phi <= 0.8 and 32 samples or
more leaves out 0 in more than 8% of the pairs (at 16 samples, or phi 0.95, a run holds too few
independent stretches to estimate its own spread: those are shown, not judged).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.results import recorded
from monitor.analysis.compare import change_interval  # after the path is set

PHIS = (0.0, 0.5, 0.8, 0.95)
LENGTHS = (16, 32, 100, 400)
TARGET = 0.08


def ar1(samples: int, phi: float, rng: np.random.Generator) -> np.ndarray:
    """A stationary AR(1) series with unit innovations."""
    noise = rng.normal(0, 1, samples)
    values = np.empty(samples)
    values[0] = noise[0] / np.sqrt(1 - phi * phi)
    for k in range(1, samples):
        values[k] = phi * values[k - 1] + noise[k]
    return values


def miss_share(phi: float, samples: int, pairs: int, seed: int) -> float:
    """The share of pairs whose interval leaves out 0."""
    rng = np.random.default_rng(seed)
    times = np.arange(float(samples))
    misses = 0
    for _ in range(pairs):
        low, high = change_interval(times, ar1(samples, phi, rng), times + 0.5, ar1(samples, phi, rng))
        misses += low > 0 or high < 0
    return misses / pairs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=200, help="pairs per case")
    args = parser.parse_args()
    print("share of pairs whose 95% interval leaves out 0 (about 5% is right)")
    print("phi   " + "".join(f"{n:>10} samples" for n in LENGTHS))
    failed = []
    for phi in PHIS:
        shares = [miss_share(phi, n, args.pairs, seed=1000 + k) for k, n in enumerate(LENGTHS)]
        print(f"{phi:<6}" + "".join(f"{share:>18.1%}" for share in shares))
        failed += [(phi, n) for n, share in zip(LENGTHS, shares) if phi <= 0.8 and n >= 32 and share > TARGET]
    verdict = "PASS" if not failed else f"FAIL {failed}"
    print(f"\n{verdict}  at most {TARGET:.0%} for phi <= 0.8 and 32 samples or more ({args.pairs} pairs per case)")
    return 0 if not failed else 1


if __name__ == "__main__":
    with recorded("compare_coverage"):
        status = main()
    sys.exit(status)
