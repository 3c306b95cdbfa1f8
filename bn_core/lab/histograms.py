"""The lab's histograms: every layer's input distribution over the probe set, for every network,
pooled over the layer's units and for one unit, at the latest snapshot or animated over the run.

    histogram_figure(history, unit, animate)   rows: hidden layers; columns: all units of the
                                               layer, then the chosen unit, one column per network
    animation_frames(history, most)            which snapshots the animation keeps

Every cell has the same x axis (the run's fixed edges, so cells compare directly) and each row
of a block keeps the y range of its highest bar over the whole run, rounded up to the next 5 %
(so that while training it changes only now and then: a live chart whose layout did not change
is redrawn in place, cheaply). Bars are percentages of the values counted; the end bars also
count everything beyond the axis. Each histogram is one filled step line (a point at every bin
edge, the last bar's height repeated at the right end): it looks like bars and costs the browser
a third less to redraw than 40 bar shapes. The animation sends pre-binned counts, never raw
values, and keeps at most `MAX_ANIMATION_FRAMES` snapshots: all the early, log-spaced ones (the
first 2 % of the run, where most changes) and evenly spaced ones after, always ending at the
last; its slider is labelled with the recorded steps.
"""

from __future__ import annotations

import math

import numpy as np

from bn_core.lab.figures import empty_figure
from bn_core.lab.measures import LATE_FROM
from bn_core.records import UNITS_RECORDED, History, network_label
from bn_core.style import COLORS, arr, axis_id, base_layout, cell, figure, grid

__all__ = ["histogram_figure", "animation_frames", "y_top", "MAX_ANIMATION_FRAMES"]

MAX_ANIMATION_FRAMES = 150


def animation_frames(history: History, most: int = MAX_ANIMATION_FRAMES) -> list[int]:
    """Indices of history.frames to animate: all if there are at most `most`; else the early
    ones (step ≤ LATE_FROM of the run, up to most/3) and evenly spaced later ones, with the last."""
    n = len(history.frames)
    if n <= most:
        return list(range(n))
    if most < 2:
        raise ValueError(f"most: expected at least 2 frames to keep, got {most}")
    steps = [max(s.step for s in f.values()) for f in history.frames]
    early = [i for i, s in enumerate(steps) if s <= LATE_FROM * history.config.steps][:most // 3]
    rest = np.linspace(len(early), n - 1, most - len(early))
    return sorted(set(early) | {int(round(i)) for i in rest})


def _percent(counts) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    return 100 * counts / total if total else counts


def _cells(history: History, frame: dict, unit: int) -> list[np.ndarray | None]:
    """Per (layer, block, network) in trace order: the step line's heights, or None (absent):
    the bars in percent, the last one twice (at the last bin's two edges)."""
    nets, out = history.networks, []
    for l in range(history.config.depth):
        for block in ("all", "unit"):
            for net in nets:
                snap = frame.get(net)
                if snap is None or snap.divergence is not None:
                    out.append(None)
                    continue
                rec = snap.layers[l]
                bars = _percent(rec.hist if block == "all" else rec.unit_hists[unit])
                out.append(arr(np.append(bars, bars[-1])))
    return out


def _column_domains(k: int, gap: float = 0.015, block_gap: float = 0.07) -> list[tuple]:
    """x domains of the 2k columns: k per block, a wider gap between the blocks (room for the
    second block's y tick labels)."""
    w = (1 - block_gap - 2 * (k - 1) * gap) / (2 * k)
    out = []
    for c in range(2 * k):
        x0 = c * (w + gap) + (block_gap - gap if c >= k else 0.0)
        out.append((x0, x0 + w))
    return out


def _peaks(history: History, unit: int) -> list[float]:
    """Per (layer, block): the highest bar (%) over the snapshots from LATE_FROM of the run on
    (an untrained network's unit may pile every value into one bar: 100 %, which would flatten
    every later histogram; such early bars are cut at the top instead)."""
    L = history.config.depth
    peaks = np.zeros((L, 2))
    start = LATE_FROM * history.config.steps
    late = [f for f in history.frames if all(s.step >= start for s in f.values())]
    snaps = [s for f in (late if len(late) > 1 else history.frames) for s in f.values()
             if s.divergence is None]
    for l in range(L):
        for b, counts in enumerate((np.array([s.layers[l].hist for s in snaps]),
                                    np.array([s.layers[l].unit_hists[unit] for s in snaps]))):
            if counts.size:                                   # (snapshots, bins)
                totals = counts.sum(1, keepdims=True)
                share = 100 * counts.max(1, keepdims=True) / np.where(totals, totals, 1)
                peaks[l, b] = float(share.max())
    return [float(p) or 10.0 for p in peaks.ravel()]


def y_top(peak: float) -> float:
    """The top of a histogram row's y axis (%): just above its highest bar, a multiple of 5."""
    return 5.0 * math.ceil(1.04 * peak / 5.0)


def histogram_figure(history: History, unit: int = 0, animate: bool = False,
                     max_frames: int = MAX_ANIMATION_FRAMES, as_dict: bool = False):
    """See the module doc. unit: 0-based, one of the first UNITS_RECORDED units."""
    nets, cfg = history.networks, history.config
    if not history.frames or history.edges is None:
        return empty_figure("no snapshots yet: press Train or Step", as_dict=as_dict)
    n_units = min(cfg.width, UNITS_RECORDED)
    if not 0 <= unit < n_units:
        raise ValueError(f"unit: expected 0 to {n_units - 1} (the recorded units), got {unit}")
    L, K = cfg.depth, len(nets)
    cols = 2 * K
    animate = animate and len(history.frames) > 1          # nothing to play at step 0
    keep = animation_frames(history, max_frames) if animate else [len(history.frames) - 1]
    step_of = [max(s.step for s in history.frames[i].values()) for i in keep]
    titles = []
    for block in ("all units", f"unit {unit + 1}"):
        for net in nets:
            div = history.divergence.get(net)
            titles.append(f"{block} · {network_label(net)}"
                          + (f" (diverged at step {div.step:,})" if div else ""))
    layout = base_layout(150 + 115 * L, **grid(
        L, cols, hgap=0.02, vgap=0.25 / L, share_y=None, col_titles=titles,
        col_colors=[COLORS.get(n) for n in nets] * 2,
        row_titles=[f"layer {l + 1}" for l in range(L)]))
    domains = _column_domains(K)
    for a, (x0, x1) in zip(layout["annotations"], domains):
        a["x"] = (x0 + x1) / 2
    layout.update(hovermode="closest", showlegend=False)
    layout["margin"] = {"l": 70, "r": 20, "t": 40, "b": 110 if animate else 45}
    layout["title"] = {"text": f"step {step_of[-1]:,}", "x": 0.01, "y": 0.995, "font": {"size": 13}}
    for a in layout["annotations"]:
        a["font"]["size"] = 12
    edges = history.edges
    centres = (edges[:-1] + edges[1:]) / 2
    at = arr(np.append(centres, centres[-1]))             # hover: each bar's centre
    latest = _cells(history, history.frames[keep[-1]], unit)
    peaks = _peaks(history, unit)
    traces = []
    for l in range(L):
        for c in range(cols):
            net, block = nets[c % K], c // K
            y = latest[l * cols + c]
            traces.append({"type": "scatter", "mode": "lines", "x": arr(edges),
                           "y": y if y is not None else np.zeros(len(edges)),
                           **cell(l, c, cols), "name": network_label(net),
                           "line": {"shape": "hv", "width": 0, "color": COLORS.get(net)},
                           "fill": "tozeroy", "fillcolor": COLORS.get(net),
                           "opacity": 1.0 if block == 0 else 0.75, "customdata": at,
                           "hovertemplate": f"layer {l + 1}, z≈%{{customdata:.2f}}: %{{y:.1f}}%"
                                            "<extra></extra>"})
            n = l * cols + c + 1
            layout[f"xaxis{axis_id(n)}"].update(range=[float(edges[0]), float(edges[-1])],
                                                domain=domains[c])
            if l == L - 1:
                layout[f"xaxis{axis_id(n)}"]["title"] = {"text": "input z", "standoff": 2}
            ya = layout[f"yaxis{axis_id(n)}"]
            ya.update(range=[0, y_top(peaks[2 * l + block])], ticksuffix="%")
            if c % K:
                ya["showticklabels"] = False
    if not animate:
        return figure(traces, layout, as_dict=as_dict)
    zeros = np.zeros(len(edges))
    frames = [{"name": str(step_of[i]),
               "data": [{"type": "scatter", "y": y if y is not None else zeros}
                        for y in _cells(history, history.frames[f], unit)],
               "layout": {"title": {"text": f"step {step_of[i]:,}"}}}
              for i, f in enumerate(keep)]
    names = [f["name"] for f in frames]
    still = {"frame": {"duration": 0, "redraw": True}, "transition": {"duration": 0},
             "mode": "immediate"}
    play = {**still, "frame": {"duration": 120, "redraw": True}}
    layout["updatemenus"] = [{
        "type": "buttons", "direction": "left", "x": 0, "y": 0, "xanchor": "left",
        "yanchor": "top", "pad": {"t": 62, "r": 10}, "showactive": False,
        "buttons": [{"label": "▶ Play", "method": "animate", "args": [names, play]},
                    {"label": "❚❚ Pause", "method": "animate",
                     "args": [[None], {**still, "frame": {"duration": 0, "redraw": False}}]}]}]
    layout["sliders"] = [{
        "active": len(names) - 1, "x": 0.22, "len": 0.78, "y": 0, "yanchor": "top",
        "pad": {"t": 30}, "currentvalue": {"prefix": "step ", "font": {"size": 12, "color": "#333"}},
        "font": {"color": "rgba(0,0,0,0)"},      # no tick labels: plotly labels only every n-th,
        "tickwidth": 1,                          # which may miss the last
        "steps": [{"label": f"{s:,}", "method": "animate", "args": [[str(s)], still]}
                  for s in step_of]}]
    return figure(traces, layout, frames, as_dict=as_dict)
