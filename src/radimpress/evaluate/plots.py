"""Box plots of per-report scores, one figure per metric, systems side by side.

Means hide the shape that matters for a drafting tool: how many impressions are
nearly useless. A box per system shows the spread and the low tail at a glance.
Boxes are horizontal with the system names on the left, wrapped, because
system names ("fine-tuned (t5-scratch-rag, 3 min)") are long and rotated
tick labels under vertical boxes get cut or collide. Figures are drawn with
the Agg canvas directly (no pyplot), so plotting works on headless servers and
never touches global matplotlib state.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping

import numpy as np

LABEL_WRAP = 22  # characters per line of a system name


def _tick_label(name: str, values: np.ndarray) -> str:
    wrapped = "\n".join(textwrap.wrap(name, LABEL_WRAP, break_on_hyphens=False)) or name
    return f"{wrapped}\nmean {values.mean():.2f}" if values.size else f"{wrapped}\n(no values)"


def box_plot_figure(
    values_by_system: Mapping[str, np.ndarray],
    *,
    title: str,
    xlabel: str,
    dpi: int = 110,
):
    """The figure behind `box_plot_png` (drawn, so its text extents can be measured)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = list(values_by_system)
    data = []
    for name in names:
        v = np.asarray(values_by_system[name], dtype=float)
        data.append(v[~np.isnan(v)])
    labels = [_tick_label(n, v) for n, v in zip(names, data, strict=True)]
    lines = sum(label.count("\n") + 1 for label in labels)
    # 4.2 in at 110 dpi is ~460 px: shown 1:1 next to its table in report.html.
    fig = Figure(figsize=(4.2, 1.0 + 0.18 * lines + 0.2 * len(names)), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    # First system on top, as in the tables.
    ax.boxplot(
        data[::-1],
        orientation="horizontal",
        tick_labels=labels[::-1],
        showmeans=True,
        meanprops={"marker": "D", "markersize": 5},
        widths=0.55,
    )
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    ax.tick_params(axis="y", labelsize=8)
    fig.tight_layout()
    fig.canvas.draw()
    return fig


def box_plot_png(
    values_by_system: Mapping[str, np.ndarray],
    *,
    title: str,
    xlabel: str,
    dpi: int = 110,
) -> bytes:
    """Render one metric's per-report values for each system as a PNG (bytes)."""
    fig = box_plot_figure(values_by_system, title=title, xlabel=xlabel, dpi=dpi)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
