"""Five deterministic figures shaped like the lab's (for the live-chart demo, its tests and its
benchmark): the figure after update `u` depends on `u` alone, so a test can rebuild it.

    curves   two panels, three lines each (x: a list of steps, y: float32)      lines that grow
    band     three panels of 15/50/85th percentile bands (fill="tonexty")       lines that grow
    layer    as band, with markers until there are 3 points, and a y range that grows now and then
    hist     a 2 × 2 grid of bar histograms and a "step N" title                every bar changes
    health   two panels, lines with NaN gaps, a log axis                        lines that grow
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

NAMES = ("curves", "band", "layer", "hist", "health")
COLORS = ("#D55E00", "#0072B2", "#009E73")
HEIGHTS = {"curves": 320, "band": 300, "layer": 300, "hist": 380, "health": 360}


def _steps(u: int, points: int) -> list[int]:
    return [10 * j for j in range(1 + u * points)]


def _y(j: np.ndarray, net: int, what: int) -> np.ndarray:
    return (np.exp(-j / (40.0 + 10 * net)) + 0.1 * what + 0.05 * np.sin(1.7 * j + net + what)) \
        .astype(np.float32)


def _grid(cols: int, rows: int = 1) -> dict:
    layout = {}
    w, h = (1 - 0.04 * (cols - 1)) / cols, (1 - 0.12 * (rows - 1)) / rows
    for r in range(rows):
        for c in range(cols):
            n = r * cols + c + 1
            s = "" if n == 1 else str(n)
            x0 = c * (w + 0.04)
            layout[f"xaxis{s}"] = {"domain": [x0, x0 + w], "anchor": f"y{s}"}
            top = 1 - r * (h + 0.12)
            layout[f"yaxis{s}"] = {"domain": [round(max(0.0, top - h), 6), round(top, 6)],
                                   "anchor": f"x{s}"}
    return layout


def _cell(n: int) -> dict:
    s = "" if n == 1 else str(n)
    return {"xaxis": f"x{s}", "yaxis": f"y{s}"}


def build(name: str, u: int, points: int = 3, steps_total: int = 2000) -> go.Figure:
    """The figure `name` after update u (u = 0: one point per line)."""
    x = _steps(u, points)
    j = np.arange(len(x), dtype=float)
    mode = "lines" if len(x) > 2 else "lines+markers"
    if name == "curves":
        layout = {"height": HEIGHTS[name], **_grid(2), "margin": {"t": 30, "b": 40}}
        layout["xaxis"]["range"] = layout["xaxis2"]["range"] = [0, steps_total]
        layout["yaxis"]["range"], layout["yaxis2"]["range"] = [0, 1.5], [0, 1.02]
        traces = []
        for net in range(3):
            traces.append({"type": "scatter", "mode": mode, "x": x, "y": _y(j, net, 0), **_cell(1),
                           "line": {"color": COLORS[net]}, "name": f"net {net}"})
            traces.append({"type": "scatter", "mode": mode, "x": x, "y": 1 - _y(j, net, 1) / 2,
                           **_cell(2), "line": {"color": COLORS[net]}, "showlegend": False})
        return go.Figure(data=traces, layout={"template": "plotly_white", **layout})
    if name in ("band", "layer"):
        layout = {"height": HEIGHTS[name], **_grid(3), "margin": {"t": 30, "b": 40}}
        traces, top = [], 1.0
        for net in range(3):
            mid = _y(j, net, 2) - 0.5
            spread = (0.3 + 0.2 * np.sin(j / 7 + net)).astype(np.float32)
            top = max(top, float(np.max(mid + spread)))
            common = {"type": "scatter", "mode": mode if name == "layer" else "lines", "x": x,
                      **_cell(net + 1), "line": {"color": COLORS[net], "width": 0.8}}
            traces += [{**common, "y": mid + spread, "showlegend": False},
                       {**common, "y": mid - spread, "fill": "tonexty", "showlegend": False},
                       {**common, "y": mid, "line": {"color": COLORS[net], "width": 2}}]
        for c in range(3):
            layout[f"xaxis{'' if c == 0 else c + 1}"]["range"] = [0, steps_total]
        # the layer view's y range grows in steps of 0.5, so the layout changes now and then
        layout["yaxis"]["range"] = [-1.0, np.ceil(2 * top) / 2 if name == "layer" else 2.0]
        return go.Figure(data=traces, layout={"template": "plotly_white", **layout})
    if name == "hist":
        layout = {"height": HEIGHTS[name], **_grid(2, 2), "bargap": 0.02, "showlegend": False,
                  "title": {"text": f"step {x[-1]:,}"}, "margin": {"t": 40, "b": 30}}
        centres = np.linspace(-3, 3, 40, dtype=np.float32)
        traces = []
        for n in range(4):
            shift = 0.8 * np.sin(u / 5 + n)
            counts = np.exp(-0.5 * ((centres - shift) / (0.6 + 0.1 * n)) ** 2)
            traces.append({"type": "bar", "x": centres, "y": (100 * counts / counts.sum())
                           .astype(np.float32), **_cell(n + 1),
                           "marker": {"color": COLORS[n % 3]}})
        return go.Figure(data=traces, layout={"template": "plotly_white", **layout})
    if name == "health":
        layout = {"height": HEIGHTS[name], **_grid(2), "margin": {"t": 30, "b": 40}}
        layout["yaxis2"]["type"] = "log"
        traces = []
        for layer in range(3):
            sat = (50 + 40 * np.sin(j / 9 + layer)).astype(np.float32)
            grad = (10.0 ** (-1 - layer + np.sin(j / 11))).astype(np.float32)
            grad[(np.arange(len(x)) % 17) == 16] = np.nan          # gaps, as after a divergence
            traces.append({"type": "scatter", "mode": mode, "x": x, "y": sat, **_cell(1),
                           "opacity": 0.4 + 0.3 * layer, "line": {"color": "#0072B2"}})
            traces.append({"type": "scatter", "mode": mode, "x": x, "y": grad, **_cell(2),
                           "opacity": 0.4 + 0.3 * layer, "line": {"color": "#0072B2"}})
        return go.Figure(data=traces, layout={"template": "plotly_white", **layout})
    raise ValueError(f"name: expected one of {', '.join(NAMES)}, got {name!r}")
