"""Box plots of per-report scores, one figure per metric, systems side by side.

Means hide the shape that matters for a drafting tool: how many impressions are
nearly useless. A box per system shows the spread and the low tail at a glance.
Figures are drawn with the Agg canvas directly (no pyplot), so plotting works on
headless servers and never touches global matplotlib state.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np


def box_plot_png(
    values_by_system: Mapping[str, np.ndarray],
    *,
    title: str,
    ylabel: str,
    dpi: int = 110,
) -> bytes:
    """Render one metric's per-report values for each system as a PNG (bytes)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = list(values_by_system)
    data = []
    for name in names:
        v = np.asarray(values_by_system[name], dtype=float)
        data.append(v[~np.isnan(v)])
    fig = Figure(figsize=(max(4.0, 1.6 * len(names) + 2.0), 4.0), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    # The mean goes in the tick label: an annotation inside the axes collides with boxes at 100.
    labels = [
        f"{n}\nmean {v.mean():.3g}" if v.size else f"{n}\n(no values)"
        for n, v in zip(names, data, strict=True)
    ]
    ax.boxplot(data, tick_labels=labels, showmeans=True, meanprops={"marker": "D", "markersize": 5})
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    if len(names) > 4:
        for label in ax.get_xticklabels():
            label.set_rotation(20)
            label.set_ha("right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
