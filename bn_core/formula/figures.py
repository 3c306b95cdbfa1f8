"""Plotly figures of the formula lesson, and their captions (plain data in, figures out).

    step_figure(before, after, …)       dot strips of one step of Algorithm 1: before and after
    epsilon_figure(study, eps, …)       the gain 1/√(σ²_B + ε) of each feature against ε
    paths_figure(lesson, feature)       dx of one feature as the paper's three paths
    CAPTIONS, paths_caption(feature)    what each figure shows, as the page writes it under it

Each feature has one colour in every figure (FEATURE_COLORS); the layout is bn_core.style's.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from bn_core.batchnorm import KERAS_EPS, PYTORCH_EPS
from bn_core.formula.lesson import FormulaLesson
from bn_core.style import base_layout

__all__ = ["step_figure", "epsilon_figure", "paths_figure", "paths_caption", "CAPTIONS",
           "FEATURE_COLORS", "PATH_COLORS"]

FEATURE_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")        # features 1 … 4
PATH_COLORS = {"direct": "#8c8c8c", "mean": FEATURE_COLORS[0], "var": FEATURE_COLORS[1]}
MARGIN = dict(l=10, r=10, t=30, b=10)

CAPTIONS = {
    "step1": "Each dot is one example; the black tick is each feature's mean. Subtracting μ_B "
             "moves every feature to mean 0 without changing its spread.",
    "epsilon": "**How to read it.** The gain of each feature against ε (log scales). While "
               "ε ≪ σ²_B the gain is 1/σ_B and ε changes nothing: that is the case of ordinary "
               "features (solid lines, yours). Once ε ≫ σ²_B the gain is 1/√ε: ε damps the "
               "feature. The dashed lines are two reference features: a *nearly* constant one "
               "(values differing by about 0.001, σ²_B ≈ 10⁻⁶) whose gain climbs to about "
               "1,000 as ε → 0, and an *exactly* constant one whose gain 1/√ε has no limit: "
               "at ε = 0 it is 1/0.",
}


def paths_caption(feature: int) -> str:
    return (f"dx of feature {feature}, example by example: the three paths (bars, stacked) and "
            "their sum (diamonds).")


def _layout(height: int, **extra) -> dict:
    """bn_core.style's layout with these figures' tight margins and per-point hover."""
    return base_layout(height, margin=MARGIN, hovermode="closest", **extra)


def step_figure(before: np.ndarray, after: np.ndarray, before_label: str, after_label: str,
                after_marks=(), height: int = 250) -> go.Figure:
    """Before/after dot strips of a step of Algorithm 1: one row of dots per feature, each panel
    with its own x-axis (the scales differ), black ticks at each feature's mean.
    after_marks: x positions of dotted reference lines in the 'after' panel.
    Four traces in all (dots and means per panel): light to draw."""
    m, d = before.shape
    names = [f"feature {j + 1}" for j in range(d)]
    traces = []
    for axis, values in (("", before), ("2", after)):
        values = np.asarray(values, dtype=float)
        finite = np.isfinite(values)                                        # (m, D)
        cols = np.broadcast_to(np.arange(d), values.shape)[finite]
        traces.append(go.Scatter(
            x=values[finite], y=[names[j] for j in cols], mode="markers",
            xaxis="x" + axis, yaxis="y" + axis, showlegend=False,
            marker=dict(size=9, color=[FEATURE_COLORS[j] for j in cols], opacity=0.75,
                        line=dict(width=0.5, color="white")),
            hovertemplate="%{y}: %{x:.4g}<extra></extra>"))
        means = [(names[j], float(values[finite[:, j], j].mean())) for j in range(d)
                 if finite[:, j].any()]
        traces.append(go.Scatter(
            x=[v for _, v in means], y=[n for n, _ in means], mode="markers",
            xaxis="x" + axis, yaxis="y" + axis, showlegend=False,
            marker=dict(symbol="line-ns", size=20, line=dict(width=3, color="black")),
            hovertemplate="%{y}: mean %{x:.4g}<extra></extra>"))
    shapes = [dict(type="line", xref="x2", yref="y2 domain", x0=xv, x1=xv, y0=0, y1=1,
                   line=dict(color="grey", dash="dot", width=1))
              for xv in after_marks if np.isfinite(xv)]
    rows = dict(categoryorder="array", categoryarray=names[::-1], range=[-0.6, d - 0.4])
    title = dict(x=0.5, xref="paper", yref="paper", xanchor="center", yanchor="bottom",
                 showarrow=False, font=dict(size=13))
    return go.Figure(traces, layout=_layout(
        height + 24 * max(0, d - 2), shapes=shapes,
        xaxis=dict(anchor="y"), yaxis=dict(domain=[0.6, 1.0], **rows),
        xaxis2=dict(anchor="y2"), yaxis2=dict(domain=[0.0, 0.34], **rows),
        annotations=[dict(text=f"before: {before_label}", y=1.0, **title),
                     dict(text=f"after: {after_label}", y=0.36, **title)],
    ))


def epsilon_figure(study: dict, eps: float, reference: dict | None = None,
                   height: int = 360) -> go.Figure:
    """Gain 1/√(σ²_B+ε) of each feature against ε (log–log), reference features dashed, with
    ε marks for PyTorch, Keras and the page's choice (ε = 0 cannot sit on a log axis)."""
    fig = go.Figure()
    hover = "ε %{x:.0e}: gain %{y:.4g}<extra></extra>"
    for j in range(study["gain"].shape[1]):
        fig.add_trace(go.Scatter(x=study["eps"], y=study["gain"][:, j], mode="lines",
                                 name=f"feature {j + 1}", hovertemplate=hover,
                                 line=dict(color=FEATURE_COLORS[j], width=2.5)))
    for (label, ref), dash in zip((reference or {}).items(), ("dash", "dot")):
        fig.add_trace(go.Scatter(x=ref["eps"], y=ref["gain"][:, 0], mode="lines", name=label,
                                 line=dict(color="black", width=1.5, dash=dash),
                                 hovertemplate=hover))
    marks = [(PYTORCH_EPS, "PyTorch 1e-5", "right", "grey", "dot"),
             (KERAS_EPS, "Keras 1e-3", "left", "grey", "dot")]
    if eps > 0 and eps not in (PYTORCH_EPS, KERAS_EPS):
        marks.append((eps, "your ε", "left", "black", "dash"))
    for x, label, side, colour, dash in marks:      # shapes take ε, annotations log10 ε
        fig.add_shape(type="line", xref="x", yref="paper", x0=x, x1=x,
                      y0=0, y1=1, line=dict(color=colour, dash=dash, width=1.5))
        fig.add_annotation(x=math.log10(x), y=1, xref="x", yref="paper", text=label,
                           showarrow=False, xanchor=side, yanchor="bottom", font=dict(size=11))
    fig.update_xaxes(type="log", title="ε", exponentformat="power")
    fig.update_yaxes(type="log", title="gain 1/√(σ²_B + ε)", exponentformat="power")
    fig.update_layout(_layout(height, legend=dict(orientation="h", y=-0.22, x=0)))
    return fig


def paths_figure(lesson: FormulaLesson, feature: int, height: int = 300) -> go.Figure:
    """dx of one feature per example, as the three paths (bars) and their total (diamonds)."""
    j = feature - 1
    idx = list(range(1, lesson.x.shape[0] + 1))
    fig = go.Figure()
    for key, label in (("direct", "direct (through x̂)"), ("mean", "through μ_B"),
                       ("var", "through σ²_B")):
        fig.add_trace(go.Bar(x=idx, y=lesson.paths[key][:, j], name=label,
                             marker_color=PATH_COLORS[key]))
    fig.add_trace(go.Scatter(x=idx, y=lesson.dx[:, j], mode="markers", name="dx (total)",
                             marker=dict(symbol="diamond", size=10, color="black")))
    fig.update_layout(_layout(height, barmode="relative", xaxis_title="example i",
                              yaxis_title=f"∂ℓ/∂x, feature {feature}",
                              legend=dict(orientation="h", y=1.15, x=0)))
    fig.update_xaxes(dtick=1 if len(idx) <= 16 else 2)
    return fig
