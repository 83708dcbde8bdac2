"""A labelled synthetic corpus of memory and handle series, deterministic by seed.

    python bench/leak_corpus.py --seed 1 | head

Each case is one series (times in seconds, values in bytes or handles) with a known label: `leak`
for growth that continues to the end of the run and matters (12.5% to 50% of the process's size, or 8
descriptors and more), `no-leak` otherwise (a drift of a few pages included). Shapes are drawn from what
real processes do: noise with heavy tails, 4 KiB pages, GC sawtooths (some with a floor that gains
far less than a cycle's height), warm-up in one curve or a few steps, strongly autocorrelated wander,
request churn, leaks whose rate keeps changing or that come in partly freed bursts, descriptor churn,
periodic load, uneven sampling intervals.

Seeds are split in two: the even ones to tune the detector on, the odd ones to report on.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable

import numpy as np

PAGE = 4096
MIB = 1024 * 1024
LENGTHS = (30, 120, 400, 2000)
INTERVALS_S = (0.5, 5.0, 60.0)

Rng = np.random.Generator


@dataclass(frozen=True)
class Case:
    """One labelled series."""

    shape: str
    metric: str  # "memory" or "handles"
    leak: bool
    t: np.ndarray
    y: np.ndarray


def _times(rng: Rng, n: int, interval_s: float, uneven: bool) -> np.ndarray:
    steps = np.full(n, interval_s)
    if uneven:
        steps = steps * rng.uniform(0.7, 1.3, n)
    return np.cumsum(steps)


def _noise(rng: Rng, n: int, sd: float) -> np.ndarray:
    """Gaussian or heavy-tailed (Student t, 3 degrees of freedom) noise of roughly the given spread."""
    if rng.random() < 0.5:
        return rng.normal(0, sd, n)
    return rng.standard_t(3, n) * sd / np.sqrt(3)


def _pages(values: np.ndarray) -> np.ndarray:
    return np.round(values / PAGE) * PAGE


def _ramp(n: int, start_frac: float = 0.0) -> np.ndarray:
    """0 until start_frac of the run, then rising linearly to 1 at the end."""
    x = np.linspace(0, 1, n)
    return np.clip((x - start_frac) / (1 - start_frac), 0, None)


# Memory shapes: f(rng, n) -> values in bytes. A leak adds 12.5% to 50% of the process's size over
# the run, and over 10% of its median: twice the detector's practical floor (5% of the median), so
# that its label does not depend on that floor. Its noise is given by the signal-to-noise ratio "rise
# over the run / noise standard deviation". A tiny drift (under half a percent) is no leak.
def _size_and_rise(rng: Rng) -> tuple[float, float]:
    """A process's size (bytes) and what a leak adds to it over the run."""
    size = rng.uniform(20, 300) * MIB
    return size, size * rng.uniform(0.125, 0.5)


def _linear(snr: float) -> Callable[[Rng, int], np.ndarray]:
    def make(rng: Rng, n: int) -> np.ndarray:
        size, rise = _size_and_rise(rng)
        return size + rise * _ramp(n) + _noise(rng, n, rise / snr)

    return make


def _slow(rng: Rng, n: int) -> np.ndarray:
    """A quiet small process (a few MiB) that leaks a few dozen pages to a few hundred over the run."""
    size = rng.uniform(2, 8) * MIB
    return size + size * rng.uniform(0.125, 0.3) * _ramp(n) + _noise(rng, n, PAGE / 2)


def _tiny_drift(rng: Rng, n: int) -> np.ndarray:
    """A quiet process that ends a few pages larger: under half a percent of its size, no leak."""
    size = rng.uniform(5, 80) * MIB
    pages = max(3, int(size * rng.uniform(0.0005, 0.005) / PAGE))
    return size + pages * PAGE * _ramp(n) + _noise(rng, n, PAGE / 2)


def _step(rng: Rng, n: int) -> np.ndarray:
    steps = int(rng.integers(5, 9))
    size, rise = _size_and_rise(rng)
    level = np.floor(np.linspace(0, steps, n, endpoint=False)) * rise / steps
    return size + level + _noise(rng, n, rise / steps / 10)


def _sawtooth(rising: bool) -> Callable[[Rng, int], np.ndarray]:
    def make(rng: Rng, n: int) -> np.ndarray:
        period = int(rng.integers(max(4, n // 12), max(6, n // 5)))
        height = rng.uniform(5, 30) * MIB
        size = rng.uniform(2, 4) * height
        phase = (np.arange(n) + rng.integers(0, period)) % period
        floor = rng.uniform(0.5, 1.0) * height * _ramp(n) if rising else 0.0
        return size + floor + height * phase / period + _noise(rng, n, height / 50)

    return make


def _big_sawtooth(rng: Rng, n: int) -> np.ndarray:
    """GC cycles whose amplitude is 4 to 8 times what their floor gains over the whole run (the gain is 12%
    to 22% of the median, with the cycles' height in it)."""
    cycles = rng.uniform(5, 10)
    height = rng.uniform(5, 30) * MIB
    x = np.arange(n) / n * cycles + rng.uniform(0, 1)
    gain = height / rng.uniform(4, 8)
    size = gain * rng.uniform(2, 4)
    return size + gain * _ramp(n) + height * (x % 1) + _noise(rng, n, height / 50)


def _varying_rate(rng: Rng, n: int) -> np.ndarray:
    """A leak whose rate changes every few samples, with pauses (rate 0) among the changes."""
    size, rise = _size_and_rise(rng)
    rates = np.empty(n)
    i = 0
    while i < n:
        run = int(rng.integers(2, 7))
        rates[i : i + run] = 0.0 if rng.random() < 0.3 else rng.exponential(1.0)
        i += run
    growth = np.cumsum(rates)
    return size + rise * growth / max(growth[-1], 1e-9) + _noise(rng, n, rise / rng.uniform(6, 30))


def _bursty(rng: Rng, n: int) -> np.ndarray:
    """Bursts of allocation every few samples; part of each burst is freed some samples later."""
    sd = rng.uniform(64, 256) * 1024
    values = np.zeros(n)
    at = int(rng.integers(0, 4))
    while at < n:
        burst = rng.uniform(1, 4) * MIB
        freed_after = at + int(rng.integers(2, 8))
        values[at:] += burst
        values[freed_after:] -= burst * rng.uniform(0.3, 0.8)
        at += int(rng.integers(2, max(3, n // 10)))
    return rng.uniform(0.5, 2) * max(values[-1], MIB) + values + _noise(rng, n, sd)


def _request_churn(rng: Rng, n: int) -> np.ndarray:
    """Requests allocate and free everything within a few samples: busy, but no leak."""
    values = np.zeros(n)
    for start in np.flatnonzero(rng.random(n) < rng.uniform(0.2, 0.8)):
        values[start : start + int(rng.integers(1, 4))] += rng.uniform(0.5, 8) * MIB
    return 70 * MIB + values + _noise(rng, n, rng.uniform(16, 128) * 1024)


def _warm_up_steps(rng: Rng, n: int) -> np.ndarray:
    """A warm-up in a few steps (caches, pools) that is over within the first third of the run."""
    ends = np.sort(rng.uniform(0.02, 0.3, int(rng.integers(2, 5)))) * n
    level = sum(rng.uniform(2, 20) * MIB * (np.arange(n) >= end) for end in ends)
    return 60 * MIB + level + _noise(rng, n, rng.uniform(64, 256) * 1024)


def _late_start(rng: Rng, n: int) -> np.ndarray:
    size, rise = _size_and_rise(rng)
    return size + rise * _ramp(n, rng.uniform(0.3, 0.6)) + _noise(rng, n, rise / rng.uniform(10, 30))


def _flat(rng: Rng, n: int) -> np.ndarray:
    return 100 * MIB + _noise(rng, n, rng.uniform(64, 512) * 1024)


def _flat_constant_runs(rng: Rng, n: int) -> np.ndarray:
    values = np.full(n, 64 * MIB, dtype=float)
    i = 0
    while i < n:
        run = int(rng.integers(5, max(6, n // 4)))
        values[i : i + run] += rng.choice([-2, -1, 0, 0, 1, 2]) * PAGE
        i += run
    return values


def _plateau(rng: Rng, n: int) -> np.ndarray:
    sd = rng.uniform(64, 256) * 1024
    warm = rng.uniform(0.1, 0.3) * n
    rise = rng.uniform(20, 80) * MIB
    x = np.arange(n)
    return 50 * MIB + rise * (1 - np.exp(-x / (warm / 4))) + _noise(rng, n, sd)


def _ar1_series(rng: Rng, n: int, phi: float, sd: float) -> np.ndarray:
    """A stationary AR(1) series of standard deviation `sd` around zero."""
    shocks = rng.normal(0, sd * np.sqrt(1 - phi**2), n)
    values = np.empty(n)
    values[0] = rng.normal(0, sd)
    for i in range(1, n):
        values[i] = phi * values[i - 1] + shocks[i]
    return values


def _ar1(low: float, high: float) -> Callable[[Rng, int], np.ndarray]:
    def make(rng: Rng, n: int) -> np.ndarray:
        return 90 * MIB + _ar1_series(rng, n, rng.uniform(low, high), rng.uniform(64, 512) * 1024)

    return make


def _periodic(rng: Rng, n: int) -> np.ndarray:
    period = rng.uniform(n / 8, n / 3)
    amplitude = rng.uniform(2, 20) * MIB
    x = np.arange(n)
    return 200 * MIB + amplitude * np.sin(2 * np.pi * x / period + rng.uniform(0, 6.3)) + _noise(rng, n, amplitude / 20)


def _spike(rng: Rng, n: int) -> np.ndarray:
    values = _flat(rng, n)
    at = int(rng.integers(n // 4, n - 1))
    values[at : at + int(rng.integers(1, 3))] += rng.uniform(20, 200) * MIB
    return values


MEMORY_SHAPES: dict[str, tuple[bool, Callable[[Rng, int], np.ndarray]]] = {
    "linear-snr3": (True, _linear(3)),
    "linear-snr6": (True, _linear(6)),
    "linear-snr20": (True, _linear(20)),
    "slow": (True, _slow),
    "tiny-drift": (False, _tiny_drift),
    "step": (True, _step),
    "sawtooth-rising-floor": (True, _sawtooth(rising=True)),
    "late-start": (True, _late_start),
    "sawtooth-big-amplitude": (True, _big_sawtooth),
    "varying-rate": (True, _varying_rate),
    "bursty": (True, _bursty),
    "flat": (False, _flat),
    "flat-constant-runs": (False, _flat_constant_runs),
    "sawtooth-flat-floor": (False, _sawtooth(rising=False)),
    "plateau": (False, _plateau),
    "ar1": (False, _ar1(0.6, 0.9)),
    "ar1-strong": (False, _ar1(0.8, 0.97)),
    "request-churn": (False, _request_churn),
    "warm-up-steps": (False, _warm_up_steps),
    "periodic": (False, _periodic),
    "spike": (False, _spike),
}


# Handle shapes: whole numbers of open handles or descriptors.
# A descriptor leak adds 8 or more (twice the practical floor of 4 handles).
def _fd_leak(rng: Rng, n: int) -> np.ndarray:
    leaked = rng.integers(8, 30)
    return 20 + np.floor(leaked * _ramp(n)) + rng.binomial(2, 0.2, n)


def _fd_late_leak(rng: Rng, n: int) -> np.ndarray:
    return 30 + np.floor(rng.integers(8, 25) * _ramp(n, rng.uniform(0.3, 0.6))) + rng.binomial(1, 0.3, n)


def _fd_flat(rng: Rng, n: int) -> np.ndarray:
    # Transient handles: files opened and closed again between samples.
    return 40 + rng.binomial(3, 0.3, n)


def _fd_plateau(rng: Rng, n: int) -> np.ndarray:
    opened = rng.integers(5, 40)
    warm = int(rng.uniform(0.1, 0.3) * n) + 1
    return 12 + np.minimum(np.arange(n) * opened // warm, opened) + rng.binomial(1, 0.2, n)


def _fd_periodic(rng: Rng, n: int) -> np.ndarray:
    period = rng.uniform(n / 8, n / 3)
    return 25 + np.round(rng.integers(3, 15) * (1 + np.sin(2 * np.pi * np.arange(n) / period)) / 2)


def _fd_churn(rng: Rng, n: int) -> np.ndarray:
    """Descriptors opened and closed again after a few samples, around a fixed mean."""
    values = np.zeros(n)
    for start in np.flatnonzero(rng.random(n) < rng.uniform(0.2, 0.7)):
        values[start : start + int(rng.integers(1, 6))] += 1
    return 35 + values


def _fd_slow_leak(rng: Rng, n: int) -> np.ndarray:
    """A few descriptors leaked at random moments, under churn of one descriptor either way."""
    leaked = int(rng.integers(8, 17))
    # One descriptor in each equal share of the run, at a random moment within it: a steady leak.
    opened_at = ((np.arange(leaked) + rng.random(leaked)) * n / leaked).astype(int)
    kept = (np.arange(n)[:, None] >= opened_at[None, :]).sum(axis=1)
    return 25 + kept + rng.integers(-1, 2, n)


def _fd_spike(rng: Rng, n: int) -> np.ndarray:
    values = _fd_flat(rng, n)
    at = int(rng.integers(n // 4, n - 1))
    values[at] += rng.integers(50, 500)
    return values


HANDLE_SHAPES: dict[str, tuple[bool, Callable[[Rng, int], np.ndarray]]] = {
    "fd-leak": (True, _fd_leak),
    "fd-late-leak": (True, _fd_late_leak),
    "fd-flat": (False, _fd_flat),
    "fd-plateau": (False, _fd_plateau),
    "fd-periodic": (False, _fd_periodic),
    "fd-spike": (False, _fd_spike),
    "fd-churn": (False, _fd_churn),
    "fd-slow-leak": (True, _fd_slow_leak),
}


def generate(seed: int = 0, lengths: tuple[int, ...] = LENGTHS, repeats: int = 6) -> list[Case]:
    """Every shape at every length and interval, `repeats` times, reproducibly from `seed`."""
    rng = np.random.default_rng(seed)
    cases = []
    for n in lengths:
        for metric, shapes in (("memory", MEMORY_SHAPES), ("handles", HANDLE_SHAPES)):
            for shape, (leak, make) in shapes.items():
                for interval_s in INTERVALS_S:
                    for _ in range(repeats):
                        t = _times(rng, n, interval_s, uneven=rng.random() < 0.3)
                        values = make(rng, n)
                        y = _pages(values) if metric == "memory" else np.maximum(values, 0).round()
                        cases.append(Case(shape, metric, leak, t, y))
    return cases


def split_seeds(split: str, count: int) -> list[int]:
    """The first `count` seeds of a split: even seeds to tune on, odd seeds held out to report on."""
    first = 0 if split == "tune" else 1
    return [first + 2 * k for k in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description="Print a summary of the labelled corpus.")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for case in generate(args.seed):
        print(f"{case.metric:8} {case.shape:24} n={len(case.y):4} leak={case.leak!s:5} first={case.y[0]:.0f}")


if __name__ == "__main__":
    main()
