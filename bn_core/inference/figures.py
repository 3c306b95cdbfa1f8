"""Plotly figures of the inference lesson, and their captions (plain data in, figures out).

    convergence_figure(convergence)   running mean and variance of one unit over training, per
                                      momentum, against the exact training-set statistics
    sweep_figure(frame)               test accuracy against the training batch size, both modes
    convergence_caption(layer, unit), CAPTIONS   what each figure shows, as the page writes it

The layout is bn_core.style's; each momentum and each mode has one colour (MOMENTUM_COLORS,
MODE_COLORS).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bn_core.style import base_layout

__all__ = ["convergence_figure", "sweep_figure", "convergence_caption", "CAPTIONS",
           "MAX_POINTS", "MOMENTUM_COLORS", "MODE_COLORS"]

MAX_POINTS = 1000              # points per line in the convergence figure
MOMENTUM_COLORS = {"0.01": "#1f77b4", "0.1": "#2ca02c", "0.5": "#ff7f0e",
                   "None (cumulative)": "#9467bd"}
YOURS = "#d62728"              # the page's momentum where it is none of the above (dashed)
MODE_COLORS = {"eval mode": "#2ca02c", "training mode": "#d62728"}
MARGIN = dict(l=10, r=10, t=40, b=10)

CAPTIONS = {
    "sweep": "Test accuracy per training batch size m.",
}


def convergence_caption(layer: int, unit: int) -> str:
    return (f"Hidden layer {layer}, unit {unit}: the running estimates during training for "
            "several momenta, and the exact statistics of the training set at the weights of "
            "that moment (black). A large momentum follows the latest batches (noisy); a small "
            "one lags behind the moving target; None averages every batch since the start, "
            "including those from the untrained network.")


def convergence_figure(convergence: dict, height: int = 330) -> go.Figure:
    """Running mean (left) and variance (right) of one unit over training, per momentum,
    against the exact training-set value at each checkpoint (black). Long runs are drawn at
    MAX_POINTS evenly spaced steps (the values at those steps, the last step always)."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=("running mean<br>vs exact mean",     # two lines: they
                                        "running variance<br>vs exact variance"))  # fit a phone
    steps = np.asarray(convergence["steps"])
    shown = np.unique(np.linspace(0, len(steps) - 1, min(len(steps), MAX_POINTS)).round().astype(int))
    for col, which in ((1, 0), (2, 1)):
        for name, path in convergence["paths"].items():
            fig.add_trace(go.Scatter(
                x=steps[shown], y=np.asarray(path[which])[shown], mode="lines",
                name=f"momentum {name}", legendgroup=name, showlegend=col == 1,
                line=dict(width=1.8, color=MOMENTUM_COLORS.get(name, YOURS),
                          dash="solid" if name in MOMENTUM_COLORS else "dash"),
                hovertemplate="step %{x}: %{y:.4g}<extra>" + name + "</extra>"), row=1, col=col)
        exact = convergence["exact_mean"] if which == 0 else convergence["exact_var"]
        fig.add_trace(go.Scatter(
            x=convergence["checkpoints"], y=exact, mode="markers+lines", name="exact (training set)",
            line=dict(color="black", width=1), marker=dict(size=5, color="black"),
            legendgroup="exact", showlegend=col == 1,
            hovertemplate="step %{x}: %{y:.4g}<extra>exact</extra>"), row=1, col=col)
    fig.update_xaxes(title="training step")
    fig.update_layout(base_layout(height, margin=dict(MARGIN, t=60), hovermode="closest",
                                  legend=dict(orientation="h", y=-0.25, x=0)))
    return fig


def sweep_figure(frame: pd.DataFrame, height: int = 320) -> go.Figure:
    """Test accuracy against the training batch size, eval mode vs training mode."""
    fig = go.Figure()
    xs = [str(m) for m in frame.index]
    for col, label, symbol in (("eval mode", "eval mode (running averages)", "circle"),
                               ("training mode", "training mode (test batches of m)", "square")):
        fig.add_trace(go.Scatter(x=xs, y=frame[col], mode="lines+markers", name=label,
                                 line=dict(color=MODE_COLORS[col], width=2),
                                 marker=dict(size=9, symbol=symbol),
                                 hovertemplate="m = %{x}: %{y:.1%}<extra></extra>"))
    fig.update_xaxes(title="training batch size m", type="category")
    fig.update_yaxes(title="test accuracy", tickformat=".0%", range=[0, 1.02])
    # the legend above the plot, in a margin of its own: inside it, it hid the points near 95 %
    fig.update_layout(base_layout(height + 30, margin=dict(MARGIN, t=70), hovermode="closest",
                                  legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0)))
    return fig
