"""The lab's histograms: every layer's input distribution over the probe set, for every network,
pooled over the layer's units and for one unit, at the latest snapshot or animated over the run.

    histogram_figure(history, unit, animate)   rows: hidden layers; columns: all units of the
                                               layer, then the chosen unit, one column per network
    layer_histogram_figure(history, layer, unit, animate)
                                               the lab's first screen: one hidden layer, one row
                                               per network: the chosen unit's histogram (filled)
                                               over the whole layer's (outline)
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
last; its slider is labelled with the recorded steps. A bar taller than its row (an untrained
unit may put nearly every value in one bin) is cut at the top and marked with its height.
"""

from __future__ import annotations

import math

import numpy as np

from bn_core.lab.figures import empty_figure
from bn_core.lab.measures import LATE_FROM
from bn_core.records import UNITS_RECORDED, History, network_label, network_short
from bn_core.style import COLORS, arr, axis_id, base_layout, cell, figure, grid

__all__ = ["histogram_figure", "layer_histogram_figure", "animation_frames", "y_top",
           "inner_ticks", "clipped_mark", "MAX_ANIMATION_FRAMES"]

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
    titles = []                          # short: six columns must fit a laptop's width
    for net in nets:
        div = history.divergence.get(net)
        titles.append(network_short(net) + (f" (diverged at {div.step:,})" if div else ""))
    layout = base_layout(170 + 115 * L, **grid(
        L, cols, hgap=0.02, vgap=0.25 / L, share_y=None, col_titles=titles * 2,
        col_colors=[COLORS.get(n) for n in nets] * 2,
        row_titles=[f"layer {l + 1}" for l in range(L)]))
    domains = _column_domains(K)
    for a, (x0, x1) in zip(layout["annotations"], domains):
        a["x"] = (x0 + x1) / 2
    for b, block in enumerate(("all units of the layer", f"unit {unit + 1}")):
        layout["annotations"].append({                       # over each block of columns
            "text": f"<b>{block}</b>", "x": (domains[b * K][0] + domains[b * K + K - 1][1]) / 2,
            "y": 1.0, "yshift": 22, "xref": "paper", "yref": "paper", "xanchor": "center",
            "yanchor": "bottom", "showarrow": False, "font": {"size": 13, "color": "#222222"}})
    layout.update(hovermode="closest", showlegend=False)
    layout["margin"] = {"l": 70, "r": 20, "t": 62, "b": 118 if animate else 45}
    layout["title"] = {"text": f"step {step_of[-1]:,}", "x": 0.01, "y": 0.995, "font": {"size": 13}}
    for a in layout["annotations"]:
        a["font"]["size"] = 12
    edges = history.edges
    centres = (edges[:-1] + edges[1:]) / 2
    at = arr(np.append(centres, centres[-1]))             # hover: each bar's centre
    latest = _cells(history, history.frames[keep[-1]], unit)
    peaks = _peaks(history, unit)
    ticks = inner_ticks(float(edges[0]), float(edges[-1]), most=3)
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
                                                domain=domains[c], tickvals=ticks)
            if l == L - 1:
                layout[f"xaxis{axis_id(n)}"]["title"] = {"text": "input z", "standoff": 2}
            ya = layout[f"yaxis{axis_id(n)}"]
            ya.update(range=[0, y_top(peaks[2 * l + block])], ticksuffix="%")
            if c % K:
                ya["showticklabels"] = False
    tops = [y_top(peaks[2 * l + c // K]) for l in range(L) for c in range(cols)]

    def marks(cells: list) -> list[dict]:          # one per cell, after the cells' traces
        return [clipped_mark(None if y is None else y[:-1], centres, top)
                for y, top in zip(cells, tops)]

    for n, mark in enumerate(marks(latest)):
        traces.append({"type": "scatter", "mode": "text", **cell(n // cols, n % cols, cols),
                       **mark, "hoverinfo": "skip", "textposition": "middle right",
                       "textfont": {"size": 10, "color": "#222222"}})
    if not animate:
        return figure(traces, layout, as_dict=as_dict)
    zeros = np.zeros(len(edges))
    frames = []
    for i, f in enumerate(keep):
        cells = _cells(history, history.frames[f], unit)
        frames.append({"name": str(step_of[i]),
                       "data": [{"type": "scatter", "y": y if y is not None else zeros}
                                for y in cells]
                       + [{"type": "scatter", **m} for m in marks(cells)],
                       "layout": {"title": {"text": f"step {step_of[i]:,}"}}})
    _player(layout, step_of)
    return figure(traces, layout, frames, as_dict=as_dict)


def _player(layout: dict, step_of: list[int]) -> None:
    """▶ Replay / ❚❚ Pause replay over the slider's left end, the slider (one stop per kept snapshot)
    along the bottom: on a phone's narrow chart the buttons sit above the slider, not on it."""
    names = [str(s) for s in step_of]
    still = {"frame": {"duration": 0, "redraw": True}, "transition": {"duration": 0},
             "mode": "immediate"}
    play = {**still, "frame": {"duration": 120, "redraw": True}}
    layout["updatemenus"] = [{
        "type": "buttons", "direction": "left", "x": 0, "y": 0, "xanchor": "left",
        "yanchor": "top", "pad": {"t": 34, "r": 10}, "showactive": False,
        "font": {"size": 12},
        "buttons": [{"label": "▶ Replay", "method": "animate", "args": [names, play]},
                    {"label": "❚❚ Pause replay", "method": "animate",
                     "args": [[None], {**still, "frame": {"duration": 0, "redraw": False}}]}]}]
    layout["sliders"] = [{
        "active": len(names) - 1, "x": 0.0, "len": 1.0, "y": 0, "yanchor": "top",
        "pad": {"t": 62, "b": 0}, "currentvalue": {"prefix": "step ", "xanchor": "right",
                                                  "font": {"size": 12, "color": "#333"}},
        "font": {"color": "rgba(0,0,0,0)"},      # no ticks: plotly labels only every n-th
        "tickwidth": 1, "ticklen": 0, "tickcolor": "rgba(0,0,0,0)",    # (it may miss the last)
        "steps": [{"label": f"{s:,}", "method": "animate", "args": [[n], still]}
                  for s, n in zip(step_of, names)]}]


def inner_ticks(lo: float, hi: float, most: int = 5) -> list[float]:
    """Tick values for a histogram's x axis [lo, hi]: round numbers, none at the very ends (so
    the labels of two cells side by side never run together, as "5−5" did)."""
    span = hi - lo
    if not (math.isfinite(span) and span > 0):
        return []
    raw = span / most
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    margin = 0.08 * span
    first = math.ceil((lo + margin) / step) * step
    ticks = []
    t = first
    while t <= hi - margin + 1e-9 * span:
        ticks.append(round(t, 10) + 0.0)
        t += step
    return ticks


def clipped_mark(bars: np.ndarray | None, centres: np.ndarray, top: float) -> dict:
    """Where a bar (%) is taller than the axis top: x, y and text of a mark at the top of the
    tallest cut bar ("↑ 99%"); nothing (None) where no bar is cut."""
    if bars is None or not len(bars):
        return {"x": [None], "y": [None], "text": [""]}
    i = int(np.argmax(bars))
    if bars[i] <= top:
        return {"x": [None], "y": [None], "text": [""]}
    return {"x": [float(centres[i])], "y": [0.9 * top], "text": [f"↑ {bars[i]:.0f}%"]}


def layer_histogram_figure(history: History, layer: int, unit: int = 0, animate: bool = False,
                           height: int | None = None, max_frames: int = MAX_ANIMATION_FRAMES,
                           as_dict: bool = False):
    """One hidden layer's input z over the probe set, one row per network (the first screen of
    the lab, beside `bands_figure(..., stacked=True)`): the chosen unit's histogram, filled (its
    15th, 50th and 85th percentiles are that chart's band at this step), over the whole layer's,
    a thin outline; % of the values, one x axis for all rows (the run's fixed edges). Each row's
    y axis fits its tallest bar over the last few snapshots (`_fit`; animation frames carry
    their own), so no bar is ever cut: an untrained unit with 99 % of its values in one bin
    shows that bar whole. layer, unit: 0-based."""
    nets, cfg = history.networks, history.config
    if not history.frames or history.edges is None:
        return empty_figure("no snapshots yet: press Train or Step", as_dict=as_dict)
    if not 0 <= layer < cfg.depth:
        raise ValueError(f"layer: expected 0 to {cfg.depth - 1}, got {layer}")
    n_units = min(cfg.width, UNITS_RECORDED)
    if not 0 <= unit < n_units:
        raise ValueError(f"unit: expected 0 to {n_units - 1} (the recorded units), got {unit}")
    K = len(nets)
    animate = animate and len(history.frames) > 1
    keep = animation_frames(history, max_frames) if animate else [len(history.frames) - 1]
    step_of = [max(s.step for s in history.frames[i].values()) for i in keep]
    layout = base_layout(height or dashboard_height(K), **grid(K, 1, vgap=0.24 / K,
                                                               share_y=None))
    layout.update(hovermode="closest", showlegend=False)
    layout["margin"] = {"l": 52, "r": 12, "t": 30, "b": 118 if animate else 48}
    layout["title"] = {"text": f"step {step_of[-1]:,}", "x": 0.01, "y": 0.995,
                       "font": {"size": 13}}
    edges = history.edges
    ticks = inner_ticks(float(edges[0]), float(edges[-1]))
    traces = []
    cells = _layer_cells(history, history.frames[keep[-1]], layer, unit)
    recent = _recent(history, keep[-1], layer, unit)
    for r, net in enumerate(nets):
        color, where = COLORS.get(net), cell(r, 0, 1)
        unit_bars, layer_bars = cells[r]
        div = history.divergence.get(net)
        layout["annotations"].append({
            "text": f"<b>{network_label(net)}</b>"
                    + (f" · diverged at step {div.step:,}" if div else ""),
            "xref": f"x{axis_id(r + 1)} domain", "yref": f"y{axis_id(r + 1)} domain",
            "x": 0.0, "y": 1.0, "xanchor": "left", "yanchor": "bottom", "showarrow": False,
            "font": {"color": color, "size": 13}})
        traces += [
            {"type": "scatter", "mode": "lines", "x": arr(edges), **where,
             "y": _step_line(unit_bars, len(edges)), "name": f"unit {unit + 1}",
             "line": {"shape": "hv", "width": 0, "color": color}, "fill": "tozeroy",
             "fillcolor": color, "opacity": 0.85,
             "hovertemplate": f"unit {unit + 1}: %{{y:.1f}}%<extra></extra>"},
            {"type": "scatter", "mode": "lines", "x": arr(edges), **where,
             "y": _step_line(layer_bars, len(edges)), "name": "all units",
             "line": {"shape": "hv", "width": 1.2, "color": "#333333"},
             "hovertemplate": "all units: %{y:.1f}%<extra></extra>"},
        ]
        xa, ya = layout[f"xaxis{axis_id(r + 1)}"], layout[f"yaxis{axis_id(r + 1)}"]
        xa.update(range=[float(edges[0]), float(edges[-1])], tickvals=ticks)
        ya.update(range=_fit(recent[r]), ticksuffix="%", nticks=4)
        if r == K - 1:
            xa["title"] = {"text": f"input z to the activation (layer {layer + 1})",
                           "standoff": 2}
    if not animate:
        return figure(traces, layout, as_dict=as_dict)
    frames = []
    for i, f in enumerate(keep):
        data, ranges = [], {}
        for r, (bars, window) in enumerate(zip(
                _layer_cells(history, history.frames[f], layer, unit),
                _recent(history, f, layer, unit))):
            data += [{"type": "scatter", "y": _step_line(b, len(edges))} for b in bars]
            ranges[f"yaxis{axis_id(r + 1)}"] = {"range": _fit(window)}
        frames.append({"name": str(step_of[i]), "data": data,
                       "layout": {"title": {"text": f"step {step_of[i]:,}"}, **ranges}})
    _player(layout, step_of)
    return figure(traces, layout, frames, as_dict=as_dict)


def dashboard_height(networks: int) -> int:
    """The height (px) of the lab's first-screen charts for this many networks."""
    return 250 + 70 * networks


def _step_line(bars: np.ndarray | None, n_edges: int) -> np.ndarray:
    """A histogram's heights as a step line over the edges (the last bar repeated)."""
    if bars is None:
        return np.zeros(n_edges, dtype=np.float32)
    return arr(np.append(bars, bars[-1]))


def _one_cell(snap, layer: int, unit: int):
    """(the unit's bars, the layer's bars) in % of one network's snapshot; (None, None) if
    absent or diverged."""
    if snap is None or snap.divergence is not None:
        return None, None
    rec = snap.layers[layer]
    return _percent(rec.unit_hists[unit]), _percent(rec.hist)


def _layer_cells(history: History, frame: dict, layer: int, unit: int):
    """Per network, in order: `_one_cell` of the frame."""
    return [_one_cell(frame.get(net), layer, unit) for net in history.networks]


def _recent(history: History, i: int, layer: int, unit: int) -> list[list[tuple]]:
    """Per network: its `_one_cell`s at snapshots i − FIT_WINDOW + 1 … i."""
    frames = history.frames[max(0, i - FIT_WINDOW + 1):i + 1]
    return [[_one_cell(f.get(net), layer, unit) for f in frames] for net in history.networks]


LADDER = (5, 10, 15, 20, 25, 30, 40, 50, 60, 80, 100)   # the first screen's y tops (%)
FIT_WINDOW = 5            # ... fitted to the tallest bar of the last 5 snapshots


def _fit(cells: list[tuple]) -> list[float]:
    """A row's y range [0, top]: the first step of LADDER above the tallest bar of `cells`
    (the row's (unit, layer) bars at the last FIT_WINDOW snapshots), 10 % if none. A few steps,
    over a few snapshots: the axis seldom changes while training (a chart whose layout did not
    change is redrawn in place, cheaply) and never cuts a bar."""
    peak = max((float(b.max()) for bars in cells for b in bars if b is not None and b.size),
               default=0.0)
    if peak <= 0:
        return [0.0, 10.0]
    return [0.0, float(next((t for t in LADDER if t >= 1.04 * peak), 5.0 * math.ceil(peak / 5)))]
