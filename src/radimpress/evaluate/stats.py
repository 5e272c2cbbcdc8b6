"""Summary statistics and paired bootstrap tests for per-report scores.

Two systems scored on the same test reports are paired: the report's
difficulty is shared, so the question "is B better than A" is answered by the
distribution of the per-report *differences*, resampled with replacement over
reports (Koehn 2004; Dror et al. 2018). The same resampled report indices are
used for every metric and every system, so results are consistent with each
other and reproducible from the seed.
"""

from __future__ import annotations

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


def paired_bootstrap(
    baseline: np.ndarray,
    system: np.ndarray,
    indices: np.ndarray,
    *,
    confidence: float = 0.95,
) -> dict[str, float]:
    """Difference in mean (system - baseline) with a percentile CI and a two-sided p-value.

    The p-value is the share of resampled differences at least as far from the
    observed difference as the observed difference is from zero (the bootstrap
    distribution shifted to the null of no difference), with the usual +1
    correction so it is never exactly 0. Reports where either score is missing
    (NaN) are left out of both means.
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
        "mean_baseline": float(np.nanmean(np.where(valid, a, np.nan))) if n_valid else float("nan"),
        "mean_system": float(np.nanmean(np.where(valid, b, np.nan))) if n_valid else float("nan"),
        "diff": float(diff[valid].mean()) if n_valid else float("nan"),
        "ci_low": float("nan"),
        "ci_high": float("nan"),
        "p_value": float("nan"),
        "resamples": float(indices.shape[0]),
    }
    if n_valid == 0 or indices.shape[0] == 0:
        return out
    d = np.where(valid, diff, 0.0)
    w = valid.astype(float)
    # Chunk the (resamples x n) gather to bound memory on large test sets.
    chunk = max(1, 4_000_000 // max(1, indices.shape[1]))
    means = np.empty(indices.shape[0])
    for start in range(0, indices.shape[0], chunk):
        idx = indices[start : start + chunk]
        counts = w[idx].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[start : start + chunk] = d[idx].sum(axis=1) / counts
    means = means[~np.isnan(means)]
    alpha = (1.0 - confidence) / 2.0
    observed = out["diff"]
    out["ci_low"], out["ci_high"] = (float(v) for v in np.quantile(means, [alpha, 1.0 - alpha]))
    extreme = np.count_nonzero(np.abs(means - observed) >= abs(observed) - 1e-12)
    out["p_value"] = float((extreme + 1) / (means.size + 1))
    return out


def compare_to_first(
    scores: Mapping[str, Mapping[str, np.ndarray]],
    metrics: Sequence[str],
    *,
    resamples: int = 1000,
    seed: int = 13,
) -> list[dict[str, object]]:
    """Paired bootstrap of every later system against the first, for every metric.

    ``scores`` maps system -> metric -> per-report values, all in the same report order.
    """
    names = list(scores)
    if len(names) < 2 or resamples <= 0:
        return []
    n = len(next(iter(scores[names[0]].values())))
    indices = bootstrap_indices(n, resamples, seed)
    rows: list[dict[str, object]] = []
    for name in names[1:]:
        for metric in metrics:
            result = paired_bootstrap(scores[names[0]][metric], scores[name][metric], indices)
            rows.append({"system": name, "baseline": names[0], "metric": metric, **result})
    return rows
