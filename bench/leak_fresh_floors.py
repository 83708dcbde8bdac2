"""How often the verdict calls a leak where a collector keeps a different amount each cycle, with no trend.

    python bench/leak_fresh_floors.py [--seeds 600] [--samples 400]

Each series is a 60 MiB sawtooth of 50-sample cycles over a floor drawn afresh for every cycle (40
MiB plus 0 to 12 MiB, uniform), with 0.3 MiB of noise, sampled every 0.125 s: no leak by design, but
its floors drift by chance, by more than the smallest leak that matters in some runs. Prints the
share of each verdict; a one-sided test at 5% should call about 5% of them a leak, or fewer.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.analysis.trend import Verdict, detect_trend

PAGE = 4096
MIB = 1024 * 1024
CYCLE = 50


def fresh_floors(seed: int, n: int) -> np.ndarray:
    """One sawtooth whose floor is drawn afresh for every cycle, in whole pages."""
    k = np.arange(n)
    rng = np.random.default_rng(seed)
    floors = 40 * MIB + rng.uniform(0, 12 * MIB, n // CYCLE + 1)
    y = floors[k // CYCLE] + 60 * MIB * (k % CYCLE) / CYCLE + rng.normal(0, 0.3 * MIB, n)
    return np.round(y / PAGE) * PAGE


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=600)
    parser.add_argument("--samples", type=int, default=400)
    args = parser.parse_args()
    times = np.arange(args.samples) * 0.125
    said = Counter(detect_trend(times, fresh_floors(seed, args.samples), PAGE).verdict for seed in range(args.seeds))
    print(f"{args.seeds} sawtooths over floors drawn afresh each cycle, {args.samples} samples:")
    for verdict in Verdict:
        print(f"  {verdict}: {said[verdict]} ({said[verdict] / args.seeds:.1%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
