"""Plotly figures of the covariate-shift lab, built from a `History` (plain data in, figures out).

    curves_figure(history, log_x)             training loss and test accuracy (Figure 1a)
    bands_figure(history, layer, unit, log_x) 15th/50th/85th percentiles of one unit's input z
                                              over the probe set, one panel per network (Figure
                                              1b, c), with median ± its jitter (the noise
                                              floor); unit=None: all units
    shift_figure(history, log_x)              internal covariate shift as a speed: per layer, how
                                              fast the inputs' means and stds move
    health_figure(history, log_x)             saturation and weight-gradient norm per layer
    histogram_figure(...)                     in bn_core.lab.histograms

Time axes: log_x=True (the default) draws steps on a log scale so the first steps, where most
changes, get as much room as the last thousands; step 0 sits at the left edge (drawn at 0.5,
labelled 0). Axes are fixed over the run so that movement is visible: steps span the whole run
from the start, accuracy 0…1, saturation 0…100 %; the activation-input axes span the run's
histogram edges (they only grow if a percentile leaves them, up to 10 times). A network that
diverged is drawn up to its last finite snapshot and marked where it stopped. Every builder
returns a plotly go.Figure, or with as_dict=True the same figure as a plain dict (for live
updates: no validation, see bn_core.style.figure).
"""

from __future__ import annotations

import math

import numpy as np
from bn_core.lab.measures import shift_rates
from bn_core.records import UNITS_RECORDED, History, network_label, network_short
from bn_core.style import (COLORS, DASHES, arr, axis_id, base_layout, cell, figure, fill, grid,
                           line_mode)

__all__ = ["curves_figure", "bands_figure", "shift_figure", "health_figure", "step_axis", "time_title",
           "x_of", "saturation_label", "empty_figure", "legend_name", "keep_in_legend",
           "power_ticks", "sparse_steps"]

ZERO_AT = 0.5                   # where step 0 is drawn on a log time axis


def x_of(steps, log_x: bool) -> np.ndarray:
    """Steps as x values: unchanged on a linear axis; on a log axis step 0 at ZERO_AT."""
    steps = np.asarray(steps, dtype=np.float64)
    return np.where(steps > 0, steps, ZERO_AT) if log_x else steps


def step_axis(last: int, log_x: bool, title: bool = True) -> dict:
    """A time axis from step 0 to `last`: linear, or log with ticks 0, 1, 10, 100, …"""
    axis = {"title": {"text": "training step" + (" (log scale)" if log_x else "")}} if title else {}
    if not log_x:
        return {**axis, "type": "linear", "range": [0, max(last, 1)]}
    top = math.log10(max(last, 1))
    ticks = [ZERO_AT] + [10 ** k for k in range(0, int(top) + 1)]
    return {**axis, "type": "log", "range": [math.log10(ZERO_AT) - 0.05, top + 0.02],
            "tickvals": ticks, "ticktext": ["0"] + [f"{int(t):,}" for t in ticks[1:]]}


def sparse_steps(axis: dict, last: int, log_x: bool) -> dict:
    """A step axis for a narrow panel (one of many side by side): upright ticks, on a log axis
    only 0 and every other power of 10 down from the last ("0, 10, 1k"), which fit side by side
    (all of 0, 1, 10, 100, 1,000 would be turned on end and run into each other)."""
    axis = {**axis, "tickangle": 0, "tickfont": {"size": 10}}
    if not log_x:
        return {**axis, "nticks": 3}
    top = int(math.log10(max(last, 1)))
    powers = sorted(range(top, 0, -2)) or [0]
    return {**axis, "tickvals": [ZERO_AT] + [10 ** k for k in powers],
            "ticktext": ["0"] + [f"{10 ** (k - 3):,}k" if k >= 3 else f"{10 ** k}"
                                 for k in powers]}


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_ticks(lo: int, hi: int, most: int = 8) -> dict:
    """Ticks at powers of 10 from 10^lo to 10^hi on a log axis (at most `most`): plain decimals
    where they are short (0.001 to 1,000), else all as powers, 10⁻²² (not 22 zeros, nor "100µ")."""
    powers = list(range(lo, hi + 1, max(1, math.ceil((hi - lo + 1) / most))))
    if lo >= -3 and hi <= 3:
        text = [f"{10.0 ** k:,.0f}" if k >= 0 else f"{10.0 ** k:.{-k}f}" for k in powers]
    else:
        text = [f"10{str(k).translate(_SUPERSCRIPT)}" for k in powers]
    return {"tickvals": [10.0 ** k for k in powers], "ticktext": text}


def time_title(layout: dict, log_x: bool) -> None:
    """One "training step" title centred under a row of time axes (one per panel would run
    into each other on a phone's narrow chart)."""
    layout["annotations"].append({
        "text": "training step" + (" (log scale)" if log_x else ""), "xref": "paper",
        "yref": "paper", "x": 0.5, "y": 0, "yshift": -24, "xanchor": "center",
        "yanchor": "top", "showarrow": False, "font": {"size": 13}})


def empty_figure(title: str, height: int = 300, as_dict: bool = False):
    return figure([], base_layout(height, title={"text": title}, xaxis={"visible": False},
                                  yaxis={"visible": False}), as_dict=as_dict)


def saturation_label(activation: str) -> str:
    """What counts as saturated, in words (bn_core.records.SATURATED_Z)."""
    return {"relu": "inactive ReLU inputs (z ≤ 0)",
            "sigmoid": "saturated (sigmoid g(z) < 0.03 or > 0.97)",
            "tanh": "saturated (|tanh(z)| > 0.97)"}[activation]


def _divergence_note(history: History, network: str) -> str | None:
    div = history.divergence.get(network)
    return None if div is None else f"diverged at step {div.step:,}"


def _axis_share(step: int, last: int, log_x: bool) -> float:
    """Where `step` sits on step_axis(last, log_x), from 0 (left edge) to 1 (right edge)."""
    if not log_x:
        return step / max(last, 1)
    lo, hi = step_axis(last, log_x)["range"]
    return (math.log10(x_of([step], log_x)[0]) - lo) / (hi - lo)


def legend_name(history: History, network: str) -> str:
    """The network's label; one with no snapshot to draw (it diverged at step 0) says so."""
    div = history.divergence.get(network)
    if div is None or history.snapshots(network):
        return network_label(network)
    return f"{network_label(network)} (diverged at step {div.step:,})"


def keep_in_legend(snaps) -> dict:
    """A network with no snapshot keeps its legend entry (plotly hides a trace with no points)."""
    return {} if snaps else {"x": [None], "y": [None], "mode": "lines"}


def curves_figure(history: History, log_x: bool = True, as_dict: bool = False):
    """Training loss (mean since the previous snapshot) and test accuracy (eval mode)."""
    cfg = history.config
    layout = base_layout(320, **grid(1, 2, hgap=0.09, share_y=None,
                                     col_titles=["training loss", "test accuracy"]))
    traces, first_losses, all_losses = [], [], []
    for i, net in enumerate(history.networks):
        snaps = history.snapshots(net)
        steps = [s.step for s in snaps]
        losses = [s.loss for s in snaps]
        first_losses += losses[:1]
        all_losses += [v for v in losses if math.isfinite(v)]
        common = {"type": "scatter", "mode": line_mode(steps), "x": x_of(steps, log_x),
                  "legendgroup": net, "line": {"color": COLORS.get(net), "width": 2.2,
                                               "dash": DASHES.get(net, "solid")},
                  "name": legend_name(history, net), "customdata": steps}
        traces.append({**common, "y": arr(losses), **cell(0, 0, 2),
                       "hovertemplate": "step %{customdata:,}: %{y:.3f}", **keep_in_legend(snaps)})
        traces.append({**common, "y": arr([s.test_acc for s in snaps]), **cell(0, 1, 2),
                       "showlegend": False, "hovertemplate": "step %{customdata:,}: %{y:.1%}"})
    top = 1.15 * max(first_losses, default=2.5)
    if all_losses and max(all_losses) > top:
        top = min(1.05 * max(all_losses), 4 * top)
    for i, net in enumerate(history.networks):
        div = history.divergence.get(net)
        if div is None:
            continue
        side = "left" if _axis_share(div.step, cfg.steps, log_x) > 0.5 else "right"
        for c, height in ((0, top), (1, 1.0)):      # one marker per network, its label at its
            traces.append({"type": "scatter", "mode": "markers+text",       # own height, on the
                           "x": x_of([div.step], log_x), "y": [(0.06 + 0.12 * i) * height],
                           **cell(0, c, 2), "hoverinfo": "skip", "showlegend": False,
                           "marker": {"symbol": "x", "size": 11, "color": COLORS.get(net)},
                           "text": [f"{network_short(net)}: diverged"],   # side with room
                           "textposition": f"middle {side}", "legendgroup": net,
                           "textfont": {"color": COLORS.get(net), "size": 11}})
    layout["xaxis"].update(step_axis(cfg.steps, log_x, title=False))
    layout["xaxis2"].update(step_axis(cfg.steps, log_x, title=False))
    time_title(layout, log_x)
    layout["yaxis"].update(range=[0, top])
    layout["yaxis2"].update(range=[0, 1.02], tickformat=".0%")
    return figure(traces, layout, as_dict=as_dict)


def _activation_range(history: History, lows, highs) -> list[float]:
    lo, hi = (float(history.edges[0]), float(history.edges[-1])) if history.edges is not None \
        else (-4.0, 4.0)
    cap = 10 * max(abs(lo), abs(hi))   # a network about to diverge may reach 1e12: off the chart
    lows, highs = np.asarray(lows, dtype=float), np.asarray(highs, dtype=float)
    if np.isfinite(lows).any():
        lo = max(-cap, min(lo, 1.1 * float(np.nanmin(lows))))
    if np.isfinite(highs).any():
        hi = min(cap, max(hi, 1.1 * float(np.nanmax(highs))))
    return [lo, hi]


def bands_figure(history: History, layer: int, unit: int | None = None,
                 log_x: bool = True, as_dict: bool = False, stacked: bool = False,
                 height: int | None = None):
    """The 15th, 50th and 85th percentiles of the input z to hidden layer `layer`'s activation
    (0-based) over the probe set, one panel per network, like the paper's Figure 1b, c.
    unit = j (< 16): unit j's values, with dotted lines at median ± jitter, the noise floor of
    `bn_core.lab.measures` in z's units: at each snapshot, the median |Δ median| over the last
    NOISE_PAIRS pairs of neighbouring snapshots (none before NOISE_MIN_PAIRS); unit = None: all
    values of the layer. stacked: one row per network (the lab's first screen, beside
    `layer_histogram_figure`), else one column per network; the panels share their y range."""
    from bn_core.lab.measures import NOISE_MIN_PAIRS, NOISE_PAIRS
    cfg, nets = history.config, history.networks
    if not 0 <= layer < cfg.depth:
        raise ValueError(f"layer: expected 0 to {cfg.depth - 1}, got {layer}")
    n_units = min(cfg.width, UNITS_RECORDED)
    if unit is not None and not 0 <= unit < n_units:
        raise ValueError(f"unit: expected 0 to {n_units - 1} (the recorded units), got {unit}")
    cols = len(nets)
    if stacked:
        layout = base_layout(height or 300, **grid(cols, 1, vgap=0.24 / cols, share_y=None))
        for r, net in enumerate(nets):
            if r:
                layout[f"yaxis{axis_id(r + 1)}"]["matches"] = "y"
            layout["annotations"].append({
                "text": f"<b>{network_label(net)}</b>", "xref": f"x{axis_id(r + 1)} domain",
                "yref": f"y{axis_id(r + 1)} domain", "x": 0.0, "y": 1.0, "xanchor": "left",
                "yanchor": "bottom", "showarrow": False,
                "font": {"color": COLORS.get(net), "size": 13}})
        layout["margin"] = {"l": 52, "r": 12, "t": 30, "b": 112}
        plot_h = layout["height"] - 30 - 112                  # the legend under the axis title
        layout["legend"].update(y=-58 / plot_h, font={"size": 11})
    else:
        layout = base_layout(height or 300, **grid(1, cols, hgap=0.03, share_y="row",
                                                   col_titles=[network_label(n) for n in nets],
                                                   col_colors=[COLORS.get(n) for n in nets]))
        layout["legend"]["y"], layout["margin"]["b"] = -0.42, 110   # clear of the axis titles
    layout["hovermode"] = "x"
    where_of = (lambda c: cell(c, 0, 1)) if stacked else (lambda c: cell(0, c, cols))
    traces, lows, highs, extremes = [], [], [], []
    for c, net in enumerate(nets):
        snaps = history.snapshots(net)
        steps = [s.step for s in snaps]
        x = x_of(steps, log_x)
        if unit is None:
            p = np.array([[s.layers[layer].p15, s.layers[layer].p50, s.layers[layer].p85]
                          for s in snaps]).reshape(-1, 3).T                       # (3, T)
        else:
            p = np.array([s.layers[layer].unit_percentiles[:, unit] for s in snaps],
                         dtype=float).reshape(-1, 3).T                            # (3, T)
        p15, p50, p85 = (arr(row) for row in p)
        lows += p15.tolist()
        highs += p85.tolist()
        extremes.append((np.nanmin(p15, initial=np.inf), np.nanmax(p85, initial=-np.inf)))
        where, color, show = where_of(c), COLORS.get(net), c == 0
        common = {"type": "scatter", "mode": line_mode(steps), "x": x, **where,
                  "customdata": steps}
        traces += [
            {**common, "y": p85, "line": {"width": 0.8, "color": color}, "name": "85th percentile",
             "legendgroup": "p85", "showlegend": False,
             "hovertemplate": "step %{customdata:,}: 85th %{y:.2f}"},
            {**common, "y": p15, "line": {"width": 0.8, "color": color}, "fill": "tonexty",
             "fillcolor": fill(net), "name": "15th–85th percentile", "legendgroup": "band",
             "showlegend": show, "hovertemplate": "15th %{y:.2f}"},
            {**common, "y": p50, "line": {"width": 2.2, "color": color}, "name": "median (50th)",
             "legendgroup": "p50", "showlegend": show, "hovertemplate": "median %{y:.2f}"},
        ]
        if unit is not None:          # the noise floor in z's units: at snapshot t, the median
            step = np.abs(np.diff(p[1]))  # |Δ median| over the last NOISE_PAIRS pairs up to t
            jitter = np.array([np.median(step[max(0, t - NOISE_PAIRS):t])
                               if t >= NOISE_MIN_PAIRS else np.nan for t in range(len(p[1]))])
            for sign, side in ((1, "above"), (-1, "below")):
                traces.append({**common, "y": arr(p[1] + sign * jitter), "name": "median ± its "
                               "jitter between snapshots (noise)",
                               "legendgroup": "noise", "showlegend": show and sign > 0,
                               "hoverinfo": "skip",
                               "line": {"width": 1, "color": "#555555", "dash": "dot"}})
        note = _divergence_note(history, net)
        if note:
            layout["annotations"].append({
                "text": note, "xref": f"x{axis_id(c + 1)} domain", "yref": f"y{axis_id(c + 1)} domain",
                "x": 0.98, "y": 0.95, "xanchor": "right", "showarrow": False,
                "font": {"color": color}, "bgcolor": "rgba(255,255,255,0.8)"})
    y_range = _activation_range(history, lows, highs)
    if not stacked:
        time_title(layout, log_x)
    for c in range(cols):
        layout[f"xaxis{axis_id(c + 1)}"].update(step_axis(cfg.steps, log_x,
                                                          title=stacked and c == cols - 1))
        note = _off_chart_note(*extremes[c], y_range)
        if note:
            layout["annotations"].append({
                "text": note, "xref": f"x{axis_id(c + 1)} domain",
                "yref": f"y{axis_id(c + 1)} domain", "x": 0.98, "y": 0.05, "xanchor": "right",
                "yanchor": "bottom", "showarrow": False, "font": {"color": COLORS.get(nets[c])},
                "bgcolor": "rgba(255,255,255,0.8)"})
    layout["yaxis"].update(range=y_range, title={"text": "input z to the activation"})
    if stacked:
        layout["yaxis"]["title"] = None
        for c in range(cols):
            layout[f"yaxis{axis_id(c + 1)}"].update(range=y_range, nticks=5)
    return figure(traces, layout, as_dict=as_dict)


def _off_chart_note(low: float, high: float, y_range: list[float]) -> str | None:
    """Where a panel's band leaves the shared y range (capped so that a diverging network does
    not flatten the others): how far it goes, so a line running off the chart is not a mystery."""
    beyond = [f"{v:.3g}" for v, out in ((low, low < y_range[0]), (high, high > y_range[1]))
              if out and math.isfinite(v)]
    return f"off the chart (to {' and '.join(beyond)})" if beyond else None


def shift_figure(history: History, log_x: bool = True, as_dict: bool = False):
    """Per hidden layer (columns), per network: how fast the layer's input distribution is
    moving, the shift rate of `bn_core.lab.measures.shift_rates` (per 100 steps, log scale)."""
    cfg, nets = history.config, history.networks
    L = cfg.depth
    layout = base_layout(300, **grid(1, L, hgap=0.03, share_y="row",
                                     col_titles=[f"layer {l + 1}" for l in range(L)]))
    layout["hovermode"] = "x"
    layout["legend"]["y"], layout["margin"]["b"] = -0.42, 110     # clear of the axis titles
    traces, lo, hi = [], math.inf, 0.0
    for l in range(L):
        for net in nets:
            steps, rates = shift_rates(history, net, l)
            good = rates[np.isfinite(rates) & (rates > 0)]
            if good.size:
                lo, hi = min(lo, float(good.min())), max(hi, float(good.max()))
            traces.append({"type": "scatter", "mode": line_mode(steps), "x": x_of(steps, log_x),
                           "y": arr(np.where(rates > 0, rates, np.nan)), **cell(0, l, L),
                           "customdata": steps, "name": network_label(net), "legendgroup": net,
                           "showlegend": l == 0, "line": {"color": COLORS.get(net), "width": 1.8,
                                                          "dash": DASHES.get(net, "solid")},
                           "hovertemplate": f"{network_label(net)}, step %{{customdata:,}}: "
                                            "%{y:.3g} per 100 steps<extra></extra>"})
    for l in range(L):
        axis = step_axis(cfg.steps, log_x, title=False)
        layout[f"xaxis{axis_id(l + 1)}"].update(sparse_steps(axis, cfg.steps, log_x) if L > 3
                                                else axis)
    time_title(layout, log_x)
    if hi > 0:
        low = max(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) - 6)
        layout["yaxis"].update(type="log", range=[low, math.ceil(math.log10(hi)) + 0.1])
    else:
        layout["yaxis"].update(type="log")
    layout["yaxis"]["title"] = {"text": "shift per 100 steps"}
    for l in range(1, L):
        layout[f"yaxis{axis_id(l + 1)}"]["type"] = "log"
    return figure(traces, layout, as_dict=as_dict)


def health_figure(history: History, log_x: bool = True, as_dict: bool = False):
    """Per network (columns): the share of saturated activation inputs over the probe set
    (`saturation_label`) and the norm of each layer's weight gradient ‖∂loss/∂W‖ on the
    training mini-batch (log scale), one line per layer, darker = deeper."""
    cfg, nets = history.config, history.networks
    K, L = len(nets), cfg.depth
    layout = base_layout(460, **grid(2, K, hgap=0.03, vgap=0.16, share_y="row",
                                     col_titles=[network_label(n) for n in nets],
                                     col_colors=[COLORS.get(n) for n in nets],
                                     row_titles=[saturation_label(cfg.activation).split(" (")[0]
                                                 + " %", "‖∂loss/∂W‖"]))
    layout["hovermode"] = "x"
    layout["legend"] = {"orientation": "h", "y": -0.2, "x": 0, "yanchor": "top",
                        "title": {"text": "layer: "}}
    traces, gmin, gmax = [], math.inf, 0.0
    shades = [0.35 + 0.65 * (l / (L - 1) if L > 1 else 1.0) for l in range(L)]
    for c, net in enumerate(nets):
        snaps = history.snapshots(net)
        steps = [s.step for s in snaps]
        if not snaps and net in history.divergence:      # an empty panel says why
            layout["annotations"].append({
                "text": f"{_divergence_note(history, net)}:<br>nothing to draw",
                "xref": f"x{axis_id(c + 1)} domain", "yref": f"y{axis_id(c + 1)} domain",
                "x": 0.5, "y": 0.5, "showarrow": False, "font": {"color": COLORS.get(net)}})
        for l in range(L):
            grads = [s.layers[l].grad_norm for s in snaps]
            good = [g for g in grads if math.isfinite(g) and g > 0]
            if good:
                gmin, gmax = min(gmin, min(good)), max(gmax, max(good))
            common = {"type": "scatter", "mode": line_mode(steps), "x": x_of(steps, log_x),
                      "line": {"color": COLORS.get(net), "width": 1.8}, "opacity": shades[l],
                      "name": f"{l + 1}", "legendgroup": f"l{l}", "showlegend": False}
            traces.append({**common, "y": arr([100 * s.layers[l].saturation for s in snaps]),
                           **cell(0, c, K),
                           "hovertemplate": f"layer {l + 1}: %{{y:.1f}}%<extra></extra>"})
            traces.append({**common, "y": arr([g if g > 0 else math.nan for g in grads]),
                           **cell(1, c, K),
                           "hovertemplate": f"layer {l + 1}: %{{y:.3g}}<extra></extra>"})
    for l in range(L):                 # a grey legend: darker lines are deeper layers
        traces.append({"type": "scatter", "mode": "lines", "x": [None], "y": [None],
                       "line": {"color": "#333333", "width": 2.5}, "opacity": shades[l],
                       "name": f"{l + 1}", "legendgroup": f"l{l}", "showlegend": True,
                       "hoverinfo": "skip", **cell(0, 0, K)})
    for c in range(K):
        layout[f"xaxis{axis_id(K + c + 1)}"].update(step_axis(cfg.steps, log_x, title=False))
        layout[f"xaxis{axis_id(c + 1)}"].update(step_axis(cfg.steps, log_x, title=False))
    time_title(layout, log_x)
    sat_peak = max((100 * rec.saturation for n in nets for s in history.snapshots(n)
                    for rec in s.layers if np.isfinite(rec.saturation)), default=0.0)
    top = 5.0 * math.ceil(1.15 * sat_peak / 5.0)      # a multiple of 5: changes only now and then
    layout["yaxis"].update(range=[0, min(100.0, max(10.0, top))])
    grad_axis = {"type": "log"}
    if gmax > 0:
        lo, hi = math.floor(math.log10(gmin)), math.ceil(math.log10(gmax))
        hi = max(hi, lo + 1)
        grad_axis.update(range=[lo, hi], **power_ticks(lo, hi))
    layout[f"yaxis{axis_id(K + 1)}"].update(grad_axis)
    for c in range(1, K):
        layout[f"yaxis{axis_id(K + c + 1)}"].update(grad_axis)
    return figure(traces, layout, as_dict=as_dict)
