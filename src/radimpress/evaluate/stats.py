"""Summary statistics and paired bootstrap tests for per-report scores.

Two systems scored on the same test reports are paired: the report's
difficulty is shared, so the question "is B better than A" is answered by the
distribution of the per-report *differences*, resampled with replacement over
reports (Koehn 2004; Dror et al. 2018). The same resampled report indices are
used for every metric and every system, so results are consistent with each
other and reproducible from the seed.

The confidence interval and the p-value are two readings of the *same*
resampled mean differences: the CI is a pair of order statistics and the
p-value is the smallest level at which that percentile CI would exclude 0
(test inversion). So a 95% CI that excludes 0 always sits next to p < 0.05,
and a CI that contains 0 next to p >= 0.05; a reader never has to reconcile
two methods that disagree near the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

DESCRIBE_COLUMNS = ("count", "mean", "std", "min", "25%", "50%", "75%", "max")


def describe(values: Sequence[float] | np.ndarray) -> dict[str, float]:
    """count, mean, std (n-1), min, quartiles, max of the non-missing values (as pandas describe)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return {"count": 0.0, **{k: float("nan") for k in DESCRIBE_COLUMNS[1:]}}
    q = np.percentile(x, [25, 50, 75])
    return {
        "count": float(x.size),
        "mean": float(x.mean()),
        "std": float(x.std(ddof=1)) if x.size > 1 else float("nan"),
        "min": float(x.min()),
        "25%": float(q[0]),
        "50%": float(q[1]),
        "75%": float(q[2]),
        "max": float(x.max()),
    }


def bootstrap_indices(n: int, resamples: int, seed: int) -> np.ndarray:
    """Resampled report indices, shape (resamples, n); one draw shared by all comparisons."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(resamples, n), dtype=np.int32 if n < 2**31 else np.int64)


def resampled_mean_differences(diff: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Mean of ``diff`` over each resample's reports, NaN reports left out (NaN rows dropped)."""
    valid = ~np.isnan(diff)
    d = np.where(valid, diff, 0.0)
    w = valid.astype(float)
    # Chunk the (resamples x n) gather to bound memory on large test sets.
    chunk = max(1, 4_000_000 // max(1, indices.shape[1]))
    means = np.empty(indices.shape[0])
    for start in range(0, indices.shape[0], chunk):
        idx = indices[start : start + chunk]
        with np.errstate(invalid="ignore", divide="ignore"):
            means[start : start + chunk] = d[idx].sum(axis=1) / w[idx].sum(axis=1)
    return means[~np.isnan(means)]


def percentile_ci(means: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """The k-th smallest and k-th largest resampled value, k = ceil(B * alpha / 2).

    Order statistics rather than an interpolated quantile, so that the interval
    excludes 0 exactly when `bootstrap_p_value` is below ``1 - confidence``.
    """
    b = means.size
    if b == 0:
        return float("nan"), float("nan")
    alpha = 1.0 - confidence
    # round() guards against 1000 * 0.025 = 25.000000000000004 becoming 26
    k = max(1, math.ceil(round(b * alpha / 2.0, 9)))
    s = np.sort(means)
    return float(s[k - 1]), float(s[b - k])


def bootstrap_p_value(means: np.ndarray) -> float:
    """Two-sided p: twice the share of resampled differences on the far side of 0, at most 1.

    This is the smallest alpha at which the (1 - alpha) `percentile_ci` of the
    same resamples excludes 0. It is 0 when every resample lies on one side;
    the report prints that as "< 1/B", the resolution of B resamples.
    """
    b = means.size
    if b == 0:
        return float("nan")
    below = int(np.count_nonzero(means <= 0.0))
    above = int(np.count_nonzero(means >= 0.0))
    return float(min(1.0, 2.0 * min(below, above) / b))


def paired_bootstrap(
    baseline: np.ndarray,
    system: np.ndarray,
    indices: np.ndarray,
    *,
    confidence: float = 0.95,
) -> dict[str, float]:
    """Difference in mean (system - baseline), its percentile CI and the matching p-value.

    Reports where either score is missing (NaN) are left out of both means.
    ``resamples`` is the number of resamples the CI and p were read from.
    """
    a = np.asarray(baseline, dtype=float)
    b = np.asarray(system, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired scores differ in length: {a.shape} vs {b.shape}")
    diff = b - a
    valid = ~np.isnan(diff)
    n_valid = int(valid.sum())
    out = {
        "n": float(n_valid),
        "mean_baseline": float(a[valid].mean()) if n_valid else float("nan"),
        "mean_system": float(b[valid].mean()) if n_valid else float("nan"),
        "diff": float(diff[valid].mean()) if n_valid else float("nan"),
        "ci_low": float("nan"),
        "ci_high": float("nan"),
        "p_value": float("nan"),
        "confidence": confidence,
        "resamples": 0.0,
    }
    if n_valid == 0 or indices.shape[0] == 0:
        return out
    means = resampled_mean_differences(diff, indices)
    out["ci_low"], out["ci_high"] = percentile_ci(means, confidence)
    out["p_value"] = bootstrap_p_value(means)
    out["resamples"] = float(means.size)
    return out


def compare_systems(
    scores: Mapping[str, Mapping[str, np.ndarray]],
    pairs: Sequence[tuple[str, str]],
    metrics: Sequence[str],
    *,
    resamples: int = 1000,
    seed: int = 13,
) -> list[dict[str, object]]:
    """Paired bootstrap of each (baseline, system) pair on every metric, one shared draw.

    ``scores`` maps system -> metric -> per-report values, all in the same
    report order. Every pair and metric reads the same resampled report
    indices, so two comparisons in one report never disagree by chance. With
    ``resamples`` 0 the differences come without CI or p-value.
    """
    if not pairs:
        return []
    first = next(iter(scores.values()))
    n = len(next(iter(first.values())))
    indices = bootstrap_indices(n, max(0, resamples), seed)
    rows: list[dict[str, object]] = []
    for baseline, system in pairs:
        for metric in metrics:
            result = paired_bootstrap(scores[baseline][metric], scores[system][metric], indices)
            rows.append({"system": system, "baseline": baseline, "metric": metric, **result})
    return rows
