"""The kernels behind `forecast`: the distribution of a sum of independent Bernoulli-weighted
amounts, exact (a convolution on a grid of minor units), normal, or simulated.

Each kernel takes the open deals' amounts [int64 minor units] and win probabilities [fraction]
and returns the distribution of the revenue they bring [minor units, float], as ascending
``values`` and their ``probabilities``. No Python runs per deal: the exact kernel multiplies the
deals' generating polynomials in a tree, a level at a time, with batched real FFTs; the
simulation draws a chunk of outcomes at a time.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "GRID_SIZE",
    "SIMULATION_CHUNK",
    "TINY",
    "exact_distribution",
    "normal_distribution",
    "simulated_distribution",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Distribution = tuple[FloatArray, FloatArray, float]

#: The exact method keeps at most about this many grid points: past it, amounts are rounded to
#: a grid of width ``delta = ceil(total / GRID_SIZE)`` minor units.
GRID_SIZE = 1 << 20

#: Outcomes less likely than this are dropped from the exact distribution (the float rounding
#: of the FFT convolution is about 1e-15, so smaller values are not meaningful).
TINY = 1e-12

#: Draws × deals per chunk of the simulation (bounds its memory to about 8 · this many bytes).
SIMULATION_CHUNK = 1 << 23


def _split(amounts: IntArray, probs: FloatArray) -> tuple[int, IntArray, FloatArray]:
    """The certain revenue (deals with p = 1) [minor units], and the uncertain deals (0 < p < 1,
    amount > 0); deals with p = 0 or amount 0 bring nothing."""
    certain = int(amounts[probs >= 1].sum())
    keep = (probs > 0) & (probs < 1) & (amounts > 0)
    return certain, amounts[keep], probs[keep]


def grid_width(amounts: IntArray, grid_size: int = GRID_SIZE) -> int:
    """The grid width [minor units] of the exact method: the amounts' greatest common divisor
    while the support ``total / gcd`` fits in ``grid_size`` points (exact), else
    ``ceil(total / grid_size)`` (each amount rounded to the nearest multiple, an error of at
    most ``delta / 2`` per deal)."""
    if not len(amounts):
        return 1
    gcd = int(np.gcd.reduce(amounts))
    total = int(amounts.sum())
    if total // gcd <= grid_size:
        return gcd
    return -(-total // grid_size)


def _class_product(ks: IntArray, ps: FloatArray) -> FloatArray:
    """The distribution of Σ kᵢ Bᵢ (Bᵢ ~ Bernoulli(pᵢ)) on the integers 0..Σk: the product of
    the polynomials 1 − pᵢ + pᵢ zᵏⁱ, multiplied pairwise, a level of the tree at a time."""
    m = len(ks)
    width = int(ks.max()) + 1
    rows = np.zeros((m, width))
    rows[:, 0] = 1 - ps
    rows[np.arange(m), ks] += ps
    while rows.shape[0] > 1:
        if rows.shape[0] % 2:
            one = np.zeros((1, width))
            one[0, 0] = 1.0
            rows = np.vstack([rows, one])
        out = 2 * width - 1
        size = 1 << (out - 1).bit_length()
        spectrum = np.fft.rfft(rows[0::2], size, axis=1) * np.fft.rfft(rows[1::2], size, axis=1)
        rows = np.fft.irfft(spectrum, size, axis=1)[:, :out]
        np.clip(rows, 0.0, None, out=rows)
        width = out
    return rows[0, : int(ks.sum()) + 1]


def _multiply(a: FloatArray, b: FloatArray) -> FloatArray:
    """The distribution of the sum of two independent integer variables (a convolution)."""
    out = len(a) + len(b) - 1
    if min(len(a), len(b)) <= 64:
        return np.convolve(a, b)
    size = 1 << (out - 1).bit_length()
    product = np.fft.irfft(np.fft.rfft(a, size) * np.fft.rfft(b, size), size)[:out]
    return np.clip(product, 0.0, None)


def exact_distribution(
    amounts: IntArray, probs: FloatArray, grid_size: int = GRID_SIZE
) -> Distribution:
    """The distribution of Σ aᵢ Bᵢ [minor units]: ``(values, probabilities, delta)``.

    Amounts are put on a grid of width ``delta`` (`grid_width`); deals of similar size (within a
    factor 2 on the grid) are multiplied together in a tree, then the size classes together.
    Outcomes less likely than `TINY` are dropped and the rest renormalized.
    """
    certain, amounts, probs = _split(amounts, probs)
    if not len(amounts):
        return np.array([float(certain)]), np.array([1.0]), 1.0
    delta = grid_width(amounts, grid_size)
    ks = (amounts + delta // 2) // delta  # nearest multiple of delta (exact when delta divides)
    keep = ks > 0
    ks, ps = ks[keep], probs[keep]
    dist = np.array([1.0])
    if len(ks):
        size_class = np.log2(ks).astype(np.int64)
        for c in np.unique(size_class):  # one pass per power of two, not per deal
            chosen = size_class == c
            dist = _multiply(dist, _class_product(ks[chosen], ps[chosen]))
    grid = np.flatnonzero(dist > TINY)
    probabilities = dist[grid] / dist[grid].sum()
    values = (certain + grid * float(delta)).astype(np.float64)
    return values, np.asarray(probabilities, dtype=np.float64), float(delta)


def normal_distribution(
    mean: float, std: float, low: float, high: float, points: int = 401
) -> tuple[FloatArray, FloatArray]:
    """The normal approximation N(mean, std²), truncated to [low, high] (the revenue that is
    possible), on ``points`` grid points: each point carries the probability of its cell."""
    if std == 0 or high <= low:
        return np.array([mean]), np.array([1.0])
    lo, hi = max(low, mean - 5 * std), min(high, mean + 5 * std)
    values = np.linspace(lo, hi, points)
    edges = np.concatenate([[-np.inf], (values[1:] + values[:-1]) / 2, [np.inf]])
    from statistics import NormalDist  # here, not at import: statistics loads random

    dist = NormalDist(mean, std)
    cdf = np.array([dist.cdf(x) if np.isfinite(x) else float(x > 0) for x in edges])
    probabilities = np.diff(cdf)
    return values, probabilities / probabilities.sum()


def normal_quantile(mean: float, std: float, q: float) -> float:
    """The q-quantile of N(mean, std²) (mean where std is 0, ±inf at q = 0 or 1)."""
    if std == 0:
        return mean
    if q <= 0:
        return -np.inf
    if q >= 1:
        return np.inf
    from statistics import NormalDist

    return NormalDist(mean, std).inv_cdf(q)


def normal_at_least(mean: float, std: float, x: float) -> float:
    """P(X ≥ x) for X ~ N(mean, std²) (a step at the mean where std is 0)."""
    if std == 0:
        return float(x <= mean)
    from statistics import NormalDist

    return 1.0 - NormalDist(mean, std).cdf(x)


def simulated_distribution(
    amounts: IntArray, probs: FloatArray, draws: int, seed: int | np.random.Generator | None
) -> tuple[FloatArray, FloatArray]:
    """``draws`` simulated totals of Σ aᵢ Bᵢ [minor units], as the distinct totals and their
    shares of the draws; reproducible for a given ``seed`` (numpy's default `Generator`)."""
    rng = np.random.default_rng(seed)
    certain, amounts, probs = _split(amounts, probs)
    if not len(amounts):
        return np.array([float(certain)]), np.array([1.0])
    weights = amounts.astype(np.float64)  # sums below 2**53 stay exact in float64
    thresholds = probs.astype(np.float32)
    chunk = max(1, SIMULATION_CHUNK // len(amounts))
    totals = np.empty(draws)
    for start in range(0, draws, chunk):  # one pass per chunk of draws
        n = min(chunk, draws - start)
        wins = rng.random((n, len(amounts)), dtype=np.float32) < thresholds
        totals[start:start + n] = wins @ weights
    values, counts = np.unique(totals, return_counts=True)
    return certain + values, counts / draws
