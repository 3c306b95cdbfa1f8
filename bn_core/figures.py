"""Plotly figures of the covariate-shift lab, built from a `History` (plain data in, figures out).

    curves_figure(history)               training loss and test accuracy over steps (Figure 1a)
    bands_figure(history, layer, unit)   15th/50th/85th percentiles of one unit's activation
                                         input over steps, one panel per network (Figure 1b, c);
                                         unit=None: the same for all values of the layer
    histogram_figure(history, animate)   histograms of every layer's activation input, one column
                                         per network; animate=True adds a play button and a step
                                         slider over the recorded snapshots (thinned, see below)
    health_figure(history)               saturation and weight-gradient norm per layer over steps
    live_figures(history, layer, unit)   the figures the lab draws while it trains (all five, or
                                         the one of a live update: LIVE_SCHEDULE)
    export_html(figures, title, notes)   one standalone HTML file, every figure, plotly.js inline

Every network has one colour everywhere (`COLORS`). Axes are fixed over the run so that movement
is visible: steps span 0…config.steps from the start, accuracy 0…1, saturation 0…100 %, and the
activation-input axes span the run's histogram edges (fixed at step 0; they only grow if a
percentile leaves them, up to 10 times the edges). A network that diverged is drawn up to its
last finite snapshot and marked where it stopped.

Sizes: numbers go out as float32 arrays (plotly writes them base64-encoded, 4 bytes a number),
so a live figure of the default run is a few tens of KB of JSON. The animation sends pre-binned counts (bars), never raw samples, and keeps
at most `MAX_ANIMATION_FRAMES` evenly spaced snapshots (always the first and the last): the
paper's 50,000-step run recorded every 50 steps has 1,001 snapshots, of which every 5th is
animated.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from bn_core.train import NETWORK_LABELS, History, TrainConfig

__all__ = [
    "COLORS", "MAX_ANIMATION_FRAMES", "network_label", "record_every_for", "thin_indices",
    "UpdatePacer", "LIVE_SCHEDULE", "VIEWS", "view_figure",
    "curves_figure", "bands_figure", "histogram_figure", "health_figure", "live_figures",
    "export_html",
]

# Okabe–Ito colours (safe for colour-blind readers): one per network, used in every figure.
COLORS = {"none": "#D55E00", "before": "#0072B2", "after": "#009E73"}
FILLS = {"none": "rgba(213,94,0,0.22)", "before": "rgba(0,114,178,0.22)",
         "after": "rgba(0,158,115,0.22)"}
MAX_ANIMATION_FRAMES = 200
TARGET_SNAPSHOTS = 150          # record_every_for aims at about this many snapshots per run
MAX_RECORD_EVERY = 50           # ... and at least one snapshot every 50 steps (live, Pause)
FONT = dict(family="Source Sans Pro, Arial, sans-serif", size=13)


def network_label(network: str) -> str:
    return NETWORK_LABELS.get(network, network)


N_FEATURES = {"digits": 64, "mnist": 784}    # the others have 2 input features
WORK_PER_SNAPSHOT = 2e8                        # networks × batch × weights between snapshots


def record_every_for(config: TrainConfig, target: int = TARGET_SNAPSHOTS,
                     most: int = MAX_RECORD_EVERY, work: float = WORK_PER_SNAPSHOT) -> int:
    """Steps between snapshots for the lab: about `target` snapshots over the run, never more
    than `most` steps apart, and for big networks fewer steps, so that one record interval (the
    unit of Step, of a live update, and the longest Pause can wait) stays short:

        record_every = clamp(round(steps / target), 1, min(most, work / (K · batch · P)))
        K = networks, P = weights per network.
        Defaults: 1,500 steps → 10 (151 snapshots);  paper, 50,000 steps → 50 (1,001 snapshots)
    """
    dims = [N_FEATURES.get(config.dataset, 2), *config.hidden, 10]
    weights = sum(a * b for a, b in zip(dims[:-1], dims[1:]))
    per_step = len(config.networks) * config.batch_size * weights
    cap = max(1, min(most, int(work // per_step)))
    return int(min(cap, max(1, round(int(config.steps) / target))))


class UpdatePacer:
    """When to redraw the live figures: draws start at most every `interval` seconds, and never
    so often that drawing takes more than `share` of the time. After a draw of d seconds the
    next one may start d/share − d seconds later (but not before `interval` from the last start):

        start-to-start time = max(interval, d / share)  ⇒  drawing time ≤ share of the total

    The lab draws when `due()` and reports each draw's duration with `drawn(d)`."""

    def __init__(self, interval: float = 0.4, share: float = 0.2, clock=None):
        import time

        self.interval, self.share = interval, share
        self.clock = clock or time.perf_counter
        self.next_at = -math.inf
        self.draws = 0
        self.draw_seconds = 0.0

    def due(self) -> bool:
        return self.clock() >= self.next_at

    def drawn(self, seconds: float) -> None:
        self.draws += 1
        self.draw_seconds += seconds
        self.next_at = self.clock() + max(self.interval - seconds, seconds / self.share - seconds)


def thin_indices(n: int, most: int) -> list[int]:
    """At most `most` evenly spaced indices of range(n), always with the first and the last."""
    if n <= most:
        return list(range(n))
    if most < 2:
        raise ValueError(f"most: expected at least 2 frames to keep, got {most}")
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, most)})


# ----------------------------------------------------------------------------- helpers

def _arr(values) -> np.ndarray:
    """Numbers for a figure: float32 (4 bytes each in plotly's base64 JSON); NaN/inf → NaN,
    which plotly draws as a gap."""
    out = np.asarray(values, dtype=np.float32).ravel()
    return np.where(np.isfinite(out), out, np.float32(np.nan))


def _mode(steps) -> str:
    """Lines, with markers while there are too few points to see a line (e.g. at step 0)."""
    return "lines" if len(steps) > 2 else "lines+markers"


def _axis(i: int) -> str:
    return "" if i == 1 else str(i)


def _grid(rows: int, cols: int, *, hgap: float = 0.05, vgap: float = 0.08,
          col_titles: list[str] | None = None, col_colors: list[str] | None = None,
          row_titles: list[str] | None = None, share_y: str | None = "row",
          share_x: bool = True) -> dict:
    """A layout dict for a rows × cols grid of axes (cheaper than make_subplots). Cell (r, c)
    uses axes x{n}/y{n} with n = r·cols + c + 1; see `_cell`."""
    layout = {"annotations": []}
    w = (1 - hgap * (cols - 1)) / cols
    h = (1 - vgap * (rows - 1)) / rows
    for r in range(rows):
        for c in range(cols):
            n = r * cols + c + 1
            x0 = c * (w + hgap)
            y1 = 1 - r * (h + vgap)
            xa = {"domain": [x0, x0 + w], "anchor": f"y{_axis(n)}", "automargin": True,
                  "showgrid": True, "zeroline": False}
            ya = {"domain": [max(0.0, y1 - h), y1], "anchor": f"x{_axis(n)}", "automargin": True,
                  "zeroline": False}
            if share_x and n > 1:
                xa["matches"] = "x"
            if share_y == "row" and c > 0:
                ya["matches"] = f"y{_axis(r * cols + 1)}"
                ya["showticklabels"] = False
            elif share_y == "all" and n > 1:
                ya["matches"] = "y"
                if c > 0:
                    ya["showticklabels"] = False
            if r < rows - 1 and share_x:
                xa["showticklabels"] = False
            if row_titles and c == 0:
                ya["title"] = {"text": row_titles[r], "standoff": 4}
            layout[f"xaxis{_axis(n)}"] = xa
            layout[f"yaxis{_axis(n)}"] = ya
    for c, title in enumerate(col_titles or []):
        x0 = c * (w + hgap)
        color = (col_colors or [None] * cols)[c]
        layout["annotations"].append({
            "text": f"<b>{title}</b>", "x": x0 + w / 2, "y": 1.0, "xref": "paper", "yref": "paper",
            "xanchor": "center", "yanchor": "bottom", "showarrow": False,
            "font": {"size": 14, "color": color},
        })
    return layout


def _cell(r: int, c: int, cols: int) -> dict:
    n = r * cols + c + 1
    return {"xaxis": f"x{_axis(n)}", "yaxis": f"y{_axis(n)}"}


def _base_layout(height: int, **extra) -> dict:
    layout = {
        "height": height, "margin": {"l": 60, "r": 20, "t": 40, "b": 95},
        "font": FONT, "plot_bgcolor": "white", "paper_bgcolor": "white",
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.3, "x": 0, "yanchor": "top"},
    }
    layout.update(extra)
    return layout


def _finite_snapshots(history: History, network: str):
    """The network's snapshots before it diverged (the divergence snapshot holds partial stats)."""
    return [f[network] for f in history.frames
            if network in f and f[network].divergence is None]


def _last_step(history: History) -> int:
    return max((s.step for f in history.frames for s in f.values()), default=0)


def _divergence_note(history: History, network: str) -> str | None:
    div = history.divergence.get(network)
    return None if div is None else f"diverged at step {div.step:,}"


def _empty(title: str, height: int = 300) -> go.Figure:
    return go.Figure(layout=_base_layout(height, title={"text": title},
                                         xaxis={"visible": False}, yaxis={"visible": False}))


# ----------------------------------------------------------------------------- figures

def curves_figure(history: History) -> go.Figure:
    """Training loss (mean since the previous snapshot) and test accuracy (eval mode), per network."""
    cfg = history.config
    layout = _base_layout(320, **_grid(1, 2, hgap=0.09, share_y=None,
                                       col_titles=["training loss", "test accuracy"]))
    traces = []
    first_losses, all_losses = [], []
    for net in history.networks:
        snaps = _finite_snapshots(history, net)
        steps = [s.step for s in snaps]
        losses = [s.loss for s in snaps]
        first_losses += losses[:1]
        all_losses += [v for v in losses if math.isfinite(v)]
        common = {"type": "scatter", "mode": _mode(steps), "x": steps, "legendgroup": net,
                  "line": {"color": COLORS.get(net), "width": 2.2}, "name": network_label(net)}
        traces.append({**common, "y": _arr(losses), **_cell(0, 0, 2),
                       "hovertemplate": "%{y:.3f}"})
        traces.append({**common, "y": _arr([s.test_acc for s in snaps]), **_cell(0, 1, 2),
                       "showlegend": False, "hovertemplate": "%{y:.1%}"})
        div = history.divergence.get(net)
        if div is not None:
            for c in (0, 1):
                traces.append({"type": "scatter", "mode": "markers+text", "x": [div.step],
                               "y": [0.0 if c == 0 else 0.02], **_cell(0, c, 2),
                               "marker": {"symbol": "x", "size": 11, "color": COLORS.get(net)},
                               "text": [f"{network_label(net)}: diverged"],
                               "textposition": "top center", "showlegend": False,
                               "legendgroup": net, "hoverinfo": "skip",
                               "textfont": {"color": COLORS.get(net), "size": 11}})
    top = 1.15 * max(first_losses, default=2.5)
    if all_losses and max(all_losses) > top:
        top = min(1.05 * max(all_losses), 4 * top)
    layout["xaxis"].update(range=[0, cfg.steps], title={"text": "training step"})
    layout["xaxis2"].update(range=[0, cfg.steps], title={"text": "training step"})
    layout["yaxis"].update(range=[0, top])
    layout["yaxis2"].update(range=[0, 1.02], tickformat=".0%")
    return go.Figure(data=traces, layout=layout)


def _activation_range(history: History, layer: int, lows, highs) -> list[float]:
    edges = history.edges[layer] if len(history.edges) > layer else np.array([-4.0, 4.0])
    lo, hi = float(edges[0]), float(edges[-1])
    cap = 10 * max(abs(lo), abs(hi))   # a network about to diverge may reach 1e12: off the chart
    lows, highs = np.asarray(lows, dtype=float), np.asarray(highs, dtype=float)
    if np.isfinite(lows).any():
        lo = max(-cap, min(lo, 1.1 * float(np.nanmin(lows))))
    if np.isfinite(highs).any():
        hi = min(cap, max(hi, 1.1 * float(np.nanmax(highs))))
    return [lo, hi]


def bands_figure(history: History, layer: int, unit: int | None = None) -> go.Figure:
    """The 15th, 50th and 85th percentiles of the input to the activation of hidden layer `layer`
    (0-based) over training, one panel per network, like the paper's Figure 1b, c.
    unit = None: over all N·width values of the layer; unit = j: over the mini-batch's N values of
    unit j (j < 16: the first 16 units are recorded)."""
    cfg = history.config
    nets = history.networks
    if not 0 <= layer < cfg.depth:
        raise ValueError(f"layer: expected 0 to {cfg.depth - 1}, got {layer}")
    n_units = min(cfg.width, 16)
    if unit is not None and not 0 <= unit < n_units:
        raise ValueError(f"unit: expected 0 to {n_units - 1} (the recorded units), got {unit}")
    cols = len(nets)
    layout = _base_layout(300, **_grid(1, cols, hgap=0.03, share_y="row",
                                       col_titles=[network_label(n) for n in nets],
                                       col_colors=[COLORS.get(n) for n in nets]))
    layout["hovermode"] = "x"
    traces, lows, highs = [], [], []
    for c, net in enumerate(nets):
        snaps = _finite_snapshots(history, net)
        steps = [s.step for s in snaps]
        if unit is None:
            p = np.array([[s.layers[layer].p15, s.layers[layer].p50, s.layers[layer].p85]
                          for s in snaps]).reshape(-1, 3).T                       # (3, T)
        else:
            p = np.array([s.layers[layer].unit_percentiles[:, unit] for s in snaps],
                         dtype=float).reshape(-1, 3).T                            # (3, T)
        p15, p50, p85 = (_arr(row) for row in p)
        lows += p15.tolist()
        highs += p85.tolist()
        cell = _cell(0, c, cols)
        color, fill = COLORS.get(net), FILLS.get(net)
        show = c == 0
        traces += [
            {"type": "scatter", "mode": _mode(steps), "x": steps, "y": p85, **cell,
             "line": {"width": 0.8, "color": color}, "name": "85th percentile",
             "legendgroup": "p85", "showlegend": False, "hovertemplate": "85th: %{y:.2f}"},
            {"type": "scatter", "mode": _mode(steps), "x": steps, "y": p15, **cell,
             "line": {"width": 0.8, "color": color}, "fill": "tonexty", "fillcolor": fill,
             "name": "15th–85th percentile", "legendgroup": "band", "showlegend": show,
             "hovertemplate": "15th: %{y:.2f}"},
            {"type": "scatter", "mode": _mode(steps), "x": steps, "y": p50, **cell,
             "line": {"width": 2.2, "color": color}, "name": "median (50th)",
             "legendgroup": "p50", "showlegend": show, "hovertemplate": "median: %{y:.2f}"},
        ]
        note = _divergence_note(history, net)
        if note:
            layout["annotations"].append({
                "text": note, "xref": f"x{_axis(c + 1)} domain", "yref": f"y{_axis(c + 1)} domain",
                "x": 0.98, "y": 0.95, "xanchor": "right", "showarrow": False,
                "font": {"color": color}, "bgcolor": "rgba(255,255,255,0.8)"})
    for c in range(cols):
        layout[f"xaxis{_axis(c + 1)}"].update(range=[0, cfg.steps],
                                             title={"text": "training step"})
    layout["yaxis"].update(range=_activation_range(history, layer, lows, highs),
                           title={"text": "activation input z"})
    return go.Figure(data=traces, layout=layout)


def _hist_rows(history: History, frame: dict, nets: list[str]) -> list[list | None]:
    """Per (layer, network) the histogram in percent of the layer's values, or None (absent)."""
    out = []
    for l in range(len(history.edges)):
        for net in nets:
            snap = frame.get(net)
            if snap is None or snap.divergence is not None:
                out.append(None)
                continue
            counts = np.asarray(snap.layers[l].hist, dtype=float)
            total = counts.sum()
            out.append(_arr(100 * counts / total if total else counts))
    return out


def _peak_percent(history: History) -> list[float]:
    """Per layer, the highest bar over every snapshot and network (so the y axes stay fixed)."""
    peaks = [0.0] * len(history.edges)
    for frame in history.frames:
        for snap in frame.values():
            if snap.divergence is None:
                for l, rec in enumerate(snap.layers):
                    total = rec.hist.sum()
                    if total:
                        peaks[l] = max(peaks[l], 100.0 * float(rec.hist.max()) / float(total))
    return [p or 10.0 for p in peaks]


def histogram_figure(history: History, animate: bool = False,
                     max_frames: int = MAX_ANIMATION_FRAMES) -> go.Figure:
    """Histograms of the activation input of every hidden layer (rows) for every network
    (columns), in percent of the layer's N·width values; the end bars also count every value
    beyond the fixed edges. It shows the latest snapshot; animate=True adds a ▶ Play button
    (from step 0) and a step slider over at most `max_frames` evenly spaced snapshots (see
    `thin_indices`). The y axis of each layer spans its highest bar of the whole run."""
    nets = history.networks
    if not history.frames or not history.edges:
        return _empty("no snapshots yet: press Train or Step")
    L, K = len(history.edges), len(nets)
    animate = animate and len(history.frames) > 1          # nothing to play at step 0
    keep = thin_indices(len(history.frames), max_frames) if animate else [len(history.frames) - 1]
    rows_per_frame = [_hist_rows(history, history.frames[i], nets) for i in keep]
    step_of = [max(s.step for s in history.frames[i].values()) for i in keep]
    titles = []
    for net in nets:
        note = _divergence_note(history, net)
        titles.append(network_label(net) + (f" ({note})" if note else ""))
    layout = _base_layout(
        130 + 120 * L, **_grid(L, K, hgap=0.03, vgap=0.25 / L, share_y="row",
                               col_titles=titles, col_colors=[COLORS.get(n) for n in nets],
                               row_titles=[f"layer {l + 1}" for l in range(L)]))
    layout.update(hovermode="closest", bargap=0.02, showlegend=False)
    layout["margin"] = {"l": 70, "r": 20, "t": 40, "b": 110 if animate else 45}
    layout["title"] = {"text": f"step {step_of[-1]:,}", "x": 0.01, "y": 0.995,
                       "font": {"size": 13}}
    traces = []
    for l in range(L):
        edges = history.edges[l]
        centres = _arr((edges[:-1] + edges[1:]) / 2)
        width = float(edges[1] - edges[0])
        for c, net in enumerate(nets):
            y = rows_per_frame[-1][l * K + c]
            traces.append({"type": "bar", "x": centres, "width": width, **_cell(l, c, K),
                           "y": y if y is not None else np.zeros(len(centres)),
                           "name": network_label(net),
                           "marker": {"color": COLORS.get(net), "line": {"width": 0}},
                           "hovertemplate": f"layer {l + 1}, z≈%{{x:.2f}}: %{{y:.1f}}%"
                                            "<extra></extra>"})
            xa = layout[f"xaxis{_axis(l * K + c + 1)}"]
            xa.pop("matches", None)                 # each layer has its own fixed edges
            xa.update(range=[float(edges[0]), float(edges[-1])], showticklabels=True)
            if l == L - 1:
                xa["title"] = {"text": "activation input z"}
    for l, peak in enumerate(_peak_percent(history)):
        layout[f"yaxis{_axis(l * K + 1)}"].update(range=[0, 1.08 * peak], ticksuffix="%")
    fig = go.Figure(data=traces, layout=layout)
    if not animate:
        return fig
    zeros = [np.zeros(len(history.edges[j // K]) - 1) for j in range(L * K)]
    frames = [{"name": str(step_of[i]),
               "data": [{"type": "bar", "y": row if row is not None else zeros[j]}
                        for j, row in enumerate(rows)],
               "layout": {"title": {"text": f"step {step_of[i]:,}"}}}
              for i, rows in enumerate(rows_per_frame)]
    names = [f["name"] for f in frames]
    play = {"frame": {"duration": 120, "redraw": True}, "transition": {"duration": 0},
            "mode": "immediate"}
    still = {"frame": {"duration": 0, "redraw": True}, "transition": {"duration": 0},
             "mode": "immediate"}
    fig.update(frames=frames)
    fig.update_layout(
        updatemenus=[{"type": "buttons", "direction": "left", "x": 0, "y": 0, "xanchor": "left",
                      "yanchor": "top", "pad": {"t": 62, "r": 10}, "showactive": False,
                      "buttons": [{"label": "▶ Play", "method": "animate", "args": [names, play]},
                                  {"label": "❚❚ Pause", "method": "animate",
                                   "args": [[None], {**still, "frame": {"duration": 0,
                                                                        "redraw": False}}]}]}],
        sliders=[{"active": len(names) - 1, "x": 0.22, "len": 0.78, "y": 0, "yanchor": "top",
                  "pad": {"t": 40}, "currentvalue": {"prefix": "step ", "font": {"size": 12}},
                  "steps": [{"label": f"{s:,}", "method": "animate", "args": [[str(s)], still]}
                            for s in step_of]}],
    )
    return fig


def health_figure(history: History) -> go.Figure:
    """Per network (columns): the share of saturated activations (sigmoid/tanh: |g(z)| > 0.97,
    i.e. sigmoid outside [0.03, 0.97]; ReLU: inactive, z ≤ 0) and the norm of each layer's weight
    gradient ‖∂loss/∂W‖ (log scale), one line per layer, darker = deeper."""
    cfg = history.config
    nets = history.networks
    K, L = len(nets), cfg.depth
    what = "inactive units (z ≤ 0)" if cfg.activation == "relu" else "saturated (|g(z)| > 0.97)"
    layout = _base_layout(460, **_grid(2, K, hgap=0.03, vgap=0.16, share_y="row",
                                       col_titles=[network_label(n) for n in nets],
                                       col_colors=[COLORS.get(n) for n in nets],
                                       row_titles=[f"{what.split(' (')[0]} %", "‖∂loss/∂W‖"]))
    layout["hovermode"] = "x"
    layout["legend"] = {"orientation": "h", "y": -0.2, "x": 0, "yanchor": "top",
                        "title": {"text": "layer: "}}
    traces = []
    gmin, gmax = math.inf, 0.0
    for c, net in enumerate(nets):
        snaps = _finite_snapshots(history, net)
        steps = [s.step for s in snaps]
        for l in range(L):
            shade = 0.35 + 0.65 * (l / (L - 1) if L > 1 else 1.0)
            sat = _arr([100 * s.layers[l].saturation for s in snaps])
            grads = [s.layers[l].grad_norm for s in snaps]
            good = [g for g in grads if math.isfinite(g) and g > 0]
            if good:
                gmin, gmax = min(gmin, min(good)), max(gmax, max(good))
            style = {"color": COLORS.get(net), "width": 1.8}
            traces.append({"type": "scatter", "mode": _mode(steps), "x": steps, "y": sat,
                           **_cell(0, c, K), "line": style, "opacity": shade,
                           "name": f"{l + 1}", "legendgroup": f"l{l}", "showlegend": False,
                           "hovertemplate": f"layer {l + 1}: %{{y:.1f}}%<extra></extra>"})
            traces.append({"type": "scatter", "mode": _mode(steps), "x": steps,
                           "y": _arr([g if g > 0 else math.nan for g in grads]),
                           **_cell(1, c, K), "line": style, "opacity": shade,
                           "name": f"{l + 1}", "legendgroup": f"l{l}", "showlegend": False,
                           "hovertemplate": f"layer {l + 1}: %{{y:.3g}}<extra></extra>"})
    for l in range(L):   # a grey legend: darker lines are deeper layers
        shade = 0.35 + 0.65 * (l / (L - 1) if L > 1 else 1.0)
        traces.append({"type": "scatter", "mode": "lines", "x": [None], "y": [None],
                       "line": {"color": "#333333", "width": 2.5}, "opacity": shade,
                       "name": f"{l + 1}", "legendgroup": f"l{l}", "showlegend": True,
                       "hoverinfo": "skip", **_cell(0, 0, K)})
    for c in range(K):
        layout[f"xaxis{_axis(K + c + 1)}"].update(range=[0, cfg.steps],
                                                 title={"text": "training step"})
        layout[f"xaxis{_axis(c + 1)}"].update(range=[0, cfg.steps])
    layout["yaxis"].update(range=[0, 100])
    if gmax > 0:
        lo, hi = math.floor(math.log10(gmin)), math.ceil(math.log10(gmax))
        layout[f"yaxis{_axis(K + 1)}"].update(type="log", range=[lo, max(hi, lo + 1)])
    else:
        layout[f"yaxis{_axis(K + 1)}"].update(type="log")
    for c in range(1, K):
        layout[f"yaxis{_axis(K + c + 1)}"]["type"] = "log"
    return go.Figure(data=traces, layout=layout)


# Streamlit draws a changed plotly figure from scratch (a new chart each time), which costs a
# slow computer's browser 0.1–0.3 s per chart; a browser busy drawing also answers a click (Pause)
# late. So each live update (2 to 3 a second) sends one of the five views, in this order: the
# Figure-1 pair (curves, one unit) is redrawn every third update, the other three every ninth.
# (Measured on a loaded 2-core machine: one chart per update, Pause took effect 20–200 ms after
# the click; two charts, 330–1,100 ms.)
LIVE_SCHEDULE = [("curves",), ("unit",), ("layer",), ("curves",), ("unit",), ("histograms",),
                 ("curves",), ("unit",), ("health",)]
VIEWS = ("curves", "unit", "layer", "histograms", "health")


def view_figure(name: str, history: History, layer: int, unit: int,
                animate: bool = False) -> go.Figure:
    """One of the lab's five views by name (see VIEWS)."""
    if name == "curves":
        return curves_figure(history)
    if name == "unit":
        return bands_figure(history, layer, unit)
    if name == "layer":
        return bands_figure(history, layer, None)
    if name == "histograms":
        return histogram_figure(history, animate=animate)
    if name == "health":
        return health_figure(history)
    raise ValueError(f"name: expected one of {', '.join(VIEWS)}, got {name!r}")


def live_figures(history: History, layer: int, unit: int,
                 update: int | None = None) -> dict[str, go.Figure]:
    """What the lab draws while training: name → figure. update=None: all five views;
    update=n: the view(s) of the n-th live update (LIVE_SCHEDULE)."""
    names = VIEWS if update is None else LIVE_SCHEDULE[update % len(LIVE_SCHEDULE)]
    return {name: view_figure(name, history, layer, unit) for name in names}


def export_html(figures: dict[str, go.Figure], title: str, notes: list[str] = ()) -> str:
    """One standalone HTML page: a title, notes (plain text, e.g. the settings and the reading),
    then each figure; plotly.js is written inline once, so it opens offline."""
    import html

    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             "</title></head><body style='font-family: Arial, sans-serif; max-width: 1200px; "
             f"margin: auto'><h1>{html.escape(title)}</h1>"]
    parts += [f"<p>{html.escape(n)}</p>" for n in notes]
    first = True
    for name, fig in figures.items():
        parts.append(f"<h2>{html.escape(name)}</h2>")
        parts.append(fig.to_html(full_html=False, include_plotlyjs=first,
                                 auto_play=False, config={"displaylogo": False}))
        first = False
    parts.append("</body></html>")
    return "".join(parts)
