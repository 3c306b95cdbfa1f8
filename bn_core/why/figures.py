"""The lesson's figures (plotly), one list per experiment, built from a `WhyResult`; the colours
and layout helpers of bn_core.style, and the lab's percentile panels for the noisy-BN network.

    figures(result, layer=…)    [(figure, caption)] of the result's experiment

Across seeds a line is the mean (a geometric mean for quantities on a log axis) and a band the
range from the smallest to the largest seed, unless its caption says otherwise.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from bn_core.lab.figures import bands_figure
from bn_core.style import COLORS, arr, base_layout, cell, grid, line_mode
from bn_core.why.config import DECAY_KIND, SCALE_FACTOR, decay_index
from bn_core.why.training import WhyResult

__all__ = ["DECAY_COLORS", "NOISY_COLOR", "STEADY_LOOK", "color", "figures", "noise_caption"]

NOISY_COLOR = "#CC79A7"                     # Okabe–Ito reddish purple
DECAY_COLORS = ("#0072B2", "#56B4E9", "#009E73", "#E69F00", "#000000", "#999999")
STEADY_LOOK = 0.3                           # jitter (in stds) under which a band looks steady
ICS_PANELS = 4                              # at most this many layers shown (all in the CSV)


def color(result: WhyResult, kind: str) -> str:
    if kind.startswith(DECAY_KIND):
        return DECAY_COLORS[decay_index(kind) % len(DECAY_COLORS)]
    return {"noisy": NOISY_COLOR, "x10": NOISY_COLOR}.get(kind, COLORS.get(kind, "#666666"))


def _rgba(hex_color: str, opacity: float = 0.18) -> str:
    h = hex_color.lstrip("#")
    return f"rgba({int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{opacity})"


def _spread(values: np.ndarray, geometric: bool = False):
    """(mean, lo, hi) over the first axis (seeds), ignoring NaN; geometric: of the logs."""
    v = np.asarray(values, dtype=float)
    with np.errstate(all="ignore"), _quiet():
        if geometric:
            v = np.log10(np.where(v > 0, v, np.nan))
        mean, lo, hi = np.nanmean(v, 0), np.nanmin(v, 0), np.nanmax(v, 0)
    return (10 ** mean, 10 ** lo, 10 ** hi) if geometric else (mean, lo, hi)


class _quiet:
    """Silence numpy's 'all-NaN slice' warnings (a column where every seed diverged)."""

    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


def _lines(traces, x, values, c, name, where, show, geometric=False, dash=None, fmt=".3g",
           band=True):
    """A mean line and its min–max band over seeds (values: (seeds, T)) in cell `where`."""
    mean, lo, hi = _spread(values, geometric)
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(mean)
    if not ok.any():
        return
    xs = x[ok].tolist()
    if band and values.shape[0] > 1:
        traces.append({"type": "scatter", "x": xs + xs[::-1], "y": arr(hi[ok]).tolist() +
                       arr(lo[ok])[::-1].tolist(), "fill": "toself", "fillcolor": _rgba(c),
                       "line": {"width": 0}, "hoverinfo": "skip", "showlegend": False,
                       "legendgroup": name, **where})
    traces.append({"type": "scatter", "mode": line_mode(xs), "x": xs, "y": arr(mean[ok]),
                   "name": name, "legendgroup": name, "showlegend": show,
                   "line": {"color": c, "width": 2.2, **({"dash": dash} if dash else {})},
                   "hovertemplate": f"{name}, step %{{x:,}}: %{{y:{fmt}}}<extra></extra>",
                   **where})


def _log_ticks(layout: dict, axis: str, traces: list, refs) -> None:
    """A log axis with a label per decade where the data (of the traces on the y axes `refs`)
    span more than a decade (plotly's default labels 2 and 5 in every decade, which crowd a
    short axis)."""
    refs = {refs} if isinstance(refs, str) else set(refs)
    ys = [v for tr in traces if tr.get("yaxis", "y") in refs
          for v in np.asarray(tr["y"], dtype=float).ravel() if np.isfinite(v) and v > 0]
    layout[axis].update(type="log", exponentformat="power")
    if ys and math.log10(max(ys) / min(ys)) > 1:
        layout[axis]["dtick"] = 1


def _titled(layout: dict, title: str) -> dict:
    layout["title"] = {"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}}
    layout["margin"] = {**layout["margin"], "t": 80}
    for a in layout["annotations"]:
        a["y"] = a.get("y", 1.0)
    return layout


def figures(result: WhyResult, layer: int | None = None) -> list[tuple[go.Figure, str]]:
    """The experiment's figures with their captions. layer: the noise experiment's layer for
    the percentile panels (0-based; default the last)."""
    exp = result.config.experiment
    if exp == "noise":
        return _noise(result, result.config.depth - 1 if layer is None else layer)
    return {"ics": _ics, "landscape": _landscape, "scale": _scale}[exp](result)


def _curves(result: WhyResult, what: str = "acc") -> tuple[go.Figure, str]:
    """Test accuracy (or, for the linear network, training loss) over training, per kind."""
    cfg = result.config
    acc = what == "acc"
    layout = base_layout(330, **grid(1, 1))
    traces = []
    for kind in cfg.kinds:
        i = result.index(kind)
        values = result.test_acc[i] if acc else result.loss[i]
        _lines(traces, result.steps, values, color(result, kind), result.label(kind), cell(0, 0, 1),
               True, geometric=not acc, fmt=".1%" if acc else ".3g")
    layout["xaxis"].update(title={"text": "training step"}, range=[0, float(result.steps[-1])])
    if acc:
        layout["yaxis"].update(title={"text": "test accuracy"}, tickformat=".0%", range=[0, 1.02])
    else:
        layout["yaxis"].update(title={"text": "training loss (mean squared error)"})
        _log_ticks(layout, "yaxis", traces, "y")
    n = len(result.index(cfg.kinds[0]))
    text = ("Test accuracy (eval mode) over training" if acc else
            "The linear networks' training loss (log scale) at the measured steps")
    return (go.Figure(data=traces, layout=_titled(layout, text)),
            f"{text}: " + (f"mean of {n} seeds (line) and the range from the lowest to the "
                           "highest seed (band)" + ("; a geometric mean on the log scale."
                                                    if not acc else ".") if n > 1 else
                           "one seed, so one line per network and no band."))


# ----------------------------------------------------------------------------- noise

def _noise(result: WhyResult, layer: int):
    cfg = result.config
    out = [_curves(result)]
    fig = bands_figure(result.history, layer, None, log_x=True)
    noisy_axis = f"x{len(cfg.kinds)}"
    for tr in fig.data:
        if tr.xaxis == noisy_axis:
            tr.line.color = NOISY_COLOR
            if tr.fill == "tonexty":
                tr.fillcolor = _rgba(NOISY_COLOR, 0.22)
    titles = {"noisy": f"noisy BN (noise ×{cfg.noise:g})", "before": "with BN",
              "none": "without BN"}
    for a in fig.layout.annotations:
        for kind, title in titles.items():
            if a.text == f"<b>{_label_of(kind)}</b>":
                a.text = f"<b>{title}</b>"
                if kind == "noisy":
                    a.font.color = NOISY_COLOR
    fig.update_layout(title={"text": f"Layer {layer + 1}: the input z to the activation over the "
                                     f"probe set, seed {cfg.seed_list[0]}",
                             "x": 0, "xanchor": "left", "font": {"size": 15}},
                      margin={"t": 80}, height=340)
    out.append((fig, f"The lab's percentile panels for layer {layer + 1} of the first seed's "
                     "three networks: the 15th, 50th and 85th percentiles of all the layer's "
                     "activation inputs over the same held-out probe examples at every snapshot "
                     "(BN in training mode on the probe set, the noisy network with the noise "
                     "the next training step would draw). Log time axis. " +
                     noise_caption(result, layer)))
    out.append(_jitter_figure(result))
    return out


def noise_caption(result: WhyResult, layer: int) -> str:
    """What the percentile panels show of the noise, from this run's jitter of the panels'
    network (the first seed) and layer: "nearly as steady as BN's" only where the noisy band
    jitters by under STEADY_LOOK of its standard deviation (the 15th–85th band spans about 2)."""
    if result.config.noise == 0:
        return "With noise ×0 the noisy network is the BN network: the same band."
    noisy, bn = (float(result.jitter[result.index(k)[0], layer]) for k in ("noisy", "before"))
    if not math.isfinite(noisy):
        return "The jitter chart below measures how much the noise shakes each layer's inputs."
    said = f"Here the noisy network's inputs jitter by {noisy:.2g} of their standard deviation"
    if math.isfinite(bn) and bn > 0:
        said += f", {noisy / bn:.3g}× BN's ({bn:.2g})"
    if noisy < STEADY_LOOK:
        return (said + ": a small part of the band's width (the 15th–85th percentiles span "
                "about 2 standard deviations), so the band can look nearly as steady as BN's: "
                "the noise shakes each unit around its path at every step, without moving it "
                "along; the jitter chart below measures by how much.")
    return (said + ": a visible part of the band's width (the 15th–85th percentiles span about "
            "2 standard deviations), so the noisy band visibly jitters where BN's is smooth; "
            "the noise shakes each unit around its path at every step, without moving it along "
            "(the jitter chart below).")


def _label_of(kind: str) -> str:
    from bn_core.records import network_label
    return network_label(kind)


def _jitter_figure(result: WhyResult):
    cfg = result.config
    traces, L = [], cfg.depth
    for kind in cfg.kinds:
        i = result.index(kind)
        mean, lo, hi = _spread(result.jitter[i], geometric=True)                 # (L,)
        c = color(result, kind)
        traces.append({"type": "scatter", "mode": "lines+markers", "x": list(range(1, L + 1)),
                       "y": arr(mean), "name": result.label(kind), "line": {"color": c},
                       "error_y": {"type": "data", "symmetric": False, "array": arr(hi - mean),
                                   "arrayminus": arr(mean - lo), "color": c},
                       "hovertemplate": f"{result.label(kind)}, layer %{{x}}: %{{y:.3g}} of "
                                        "its std<extra></extra>"})
    layout = base_layout(320, **grid(1, 1))
    layout["xaxis"].update(title={"text": "hidden layer"}, tickvals=list(range(1, L + 1)),
                           range=[0.7, L + 0.3])
    layout["yaxis"].update(title={"text": "jitter (in stds)"})
    _log_ticks(layout, "yaxis", traces, "y")
    layout["hovermode"] = "closest"
    fig = go.Figure(data=traces, layout=_titled(layout, "How much each layer's input "
                                                "distribution jitters around its trend"))
    return fig, ("Per hidden layer: each unit's mean and standard deviation over the probe set, "
                 "from a fifth of the run on, with a straight line fitted through them; the "
                 "jitter is what the line leaves, in units of the unit's standard deviation "
                 "(median unit), then the geometric mean over seeds (marker) and the range of "
                 "the seeds (bar). Higher: less stable inputs. Nothing is divided by the steps "
                 "between snapshots, so it reads the same at any recording density.")


# ----------------------------------------------------------------------------- ics

def _ics(result: WhyResult):
    cfg = result.config
    layers = result.ics_layers
    n_out = len(layers)
    pick = sorted({int(round(v)) for v in np.linspace(0, n_out - 1, min(ICS_PANELS, n_out))})
    linear = cfg.network == "linear"

    def name(l):
        if not linear and l == cfg.depth:
            return "output layer"
        return f"layer {l + 1}"

    cols = len(pick)
    layout = base_layout(480, **grid(2, cols, hgap=0.06, vgap=0.12, share_y=None,
                                     col_titles=[name(layers[r]) for r in pick],
                                     row_titles=["‖G − G′‖", "cos(G, G′)"]))
    traces = []
    for c, r in enumerate(pick):
        for kind in cfg.kinds:
            i = result.index(kind)
            args = (color(result, kind), result.label(kind))
            _lines(traces, result.check_steps, result.ics_diff[i, :, r], *args, cell(0, c, cols),
                   c == 0, geometric=True)
            _lines(traces, result.check_steps, result.ics_cos[i, :, r], *args, cell(1, c, cols),
                   False, fmt=".3f")
    low = min(-0.05, _low_cos(result))
    for c in range(cols):                  # each layer its own ‖G − G′‖ scale; one cos scale
        _log_ticks(layout, f"yaxis{c + 1 if c else ''}", traces, f"y{c + 1 if c else ''}")
        layout[f"yaxis{cols + c + 1}"].update(range=[low, 1.05])
        layout[f"xaxis{cols + c + 1}"].update(
            title={"text": "training step" if c == cols // 2 else ""})
    title = ("G and G′ per layer over training" + (" (deep linear network)" if linear else ""))
    fig = go.Figure(data=traces, layout=_titled(layout, title))
    shown = ", ".join(name(layers[r]) for r in pick)
    caption = (f"For layer i at each measured step: G = the gradient of its weights, G′ = the "
               f"same gradient on the same batch after layers 1 … i−1 took their step. Top: "
               f"‖G − G′‖ (log scale, geometric mean of the seeds); bottom: cos(G, G′) (mean of "
               f"the seeds); bands: the range of the seeds. Shown: {shown} (every layer is in "
               f"the CSV).")
    return [(fig, caption), _curves(result, "loss" if linear else "acc")]


def _low_cos(result: WhyResult) -> float:
    with np.errstate(all="ignore"), _quiet():
        low = np.nanmin(result.ics_cos)
    return float(low) - 0.05 if math.isfinite(low) else 0.0


# ----------------------------------------------------------------------------- landscape

def _landscape(result: WhyResult):
    cfg = result.config
    layout = base_layout(380, **grid(1, 3, hgap=0.11, share_y=None,
                                     col_titles=["variation of the loss", "gradient "
                                                 "predictiveness", "effective β-smoothness"]))
    traces = []
    with np.errstate(all="ignore"), _quiet():
        for kind in cfg.kinds:
            i = result.index(kind)
            c, label = color(result, kind), result.label(kind)
            x = result.check_steps.astype(float)
            for col, values in ((0, result.land_loss[i]), (1, result.land_change[i])):
                lo = np.nanmedian(np.nanmin(values, 2), 0)
                hi = np.nanmedian(np.nanmax(values, 2), 0)
                ok = np.isfinite(lo) & np.isfinite(hi)
                xs = x[ok].tolist()
                traces.append({"type": "scatter", "x": xs + xs[::-1],
                               "y": arr(hi[ok]).tolist() + arr(lo[ok])[::-1].tolist(),
                               "fill": "toself", "fillcolor": _rgba(c, 0.3),
                               "line": {"color": c, "width": 1}, "name": label,
                               "legendgroup": kind, "showlegend": col == 0,
                               "hoverinfo": "skip", **cell(0, col, 3)})
            beta = np.nanmax(result.land_change[i] / result.land_distance[i], 2)    # (seeds, C)
            _lines(traces, x, beta, c, label, cell(0, 2, 3), False, geometric=True)
    for axis, ref, text in (("yaxis", "y", "loss along the gradient"),
                            ("yaxis2", "y2", "‖∇L(θ − ηg) − ∇L(θ)‖"),
                            ("yaxis3", "y3", "max change / distance")):
        layout[axis]["title"] = {"text": text}
        _log_ticks(layout, axis, traces, ref)
    layout["xaxis2"]["title"] = {"text": "training step"}
    f = result.factors
    fig = go.Figure(data=traces, layout=_titled(layout, "The loss landscape along the gradient, "
                                                "over training"))
    caption = (f"At each measured step, {len(f)} steps along the gradient g on one mini-batch, of "
               f"{f[0]:g} to {f[-1]:g} × the learning rate, BN in training mode on that batch and "
               f"everything restored afterwards. Left: the band spans the smallest to the largest "
               f"loss along them; middle: the smallest to the largest change of the gradient "
               f"(both bands: medians of the seeds); right: the largest gradient change per "
               f"distance moved (line: geometric mean of the seeds, band: their range). Log "
               f"scales: a narrower, lower band is a smoother landscape.")
    return [(fig, caption), _curves(result)]


# ----------------------------------------------------------------------------- scale

def _scale(result: WhyResult):
    cfg = result.config
    L = cfg.depth
    layout = base_layout(560, **grid(2, L, hgap=0.04, vgap=0.14, share_y="row",
                                     col_titles=[f"layer {l + 1}" for l in range(L)],
                                     row_titles=["‖W‖ / ‖W‖ at step 0", "η / ‖w‖²"]))
    traces = []
    rows = cfg.width                                   # a hidden W has `width` rows (units)
    for kind in cfg.kinds:
        i = result.index(kind)
        args = (color(result, kind), result.label(kind))
        dash = "dash" if kind == "x10" else None
        for l in range(L):
            norm = result.norms[i, :, l]                                            # (seeds, T)
            _lines(traces, result.steps, norm / norm[:, :1], *args, cell(0, l, L), l == 0,
                   geometric=True, dash=dash)
            eff = cfg.lr * rows / np.square(norm)                   # η / (mean squared row norm)
            _lines(traces, result.steps, eff, *args, cell(1, l, L), False, geometric=True,
                   dash=dash)
    for row in (0, 1):                 # every axis of a row log, as its first (they match it)
        ids = [row * L + l + 1 for l in range(L)]
        first = f"yaxis{ids[0] if ids[0] > 1 else ''}"
        _log_ticks(layout, first, traces, [f"y{n if n > 1 else ''}" for n in ids])
        for n in ids[1:]:
            layout[f"yaxis{n}"].update({k: layout[first][k] for k in ("type", "exponentformat",
                                                                         "dtick")
                                        if k in layout[first]})
    layout[f"xaxis{L + 1 + L // 2}"]["title"] = {"text": "training step"}
    fig = go.Figure(data=traces, layout=_titled(layout, "How the hidden weights' norm moves, "
                                                "and the effective learning rate"))
    caption = ("Top: ‖W‖ of each hidden layer's weight matrix (Frobenius norm) relative to its "
               "value at step 0 (log scale" + ("; the W × 10 copies start 10× larger, so at 1 "
                                              "here too" if cfg.multiply else "") + "); "
               "bottom: the effective learning rate η/‖w‖², with ‖w‖² the mean squared norm of a "
               "unit's weight vector (BN makes each unit's output independent of that norm, so "
               "only the direction learns, at this rate). " + ("Lines: geometric mean of the seeds; "
               "bands: their range" if cfg.seeds > 1 else "One seed: one line each, no band") + (f"; dashed: the copies started with W × "
                                       f"{SCALE_FACTOR:g}." if cfg.multiply else "."))
    out = [(fig, caption)]
    layout = base_layout(320, **grid(1, 1))
    traces = []
    for kind in cfg.kinds:
        i = result.index(kind)
        _lines(traces, result.steps, result.loss[i], color(result, kind), result.label(kind),
               cell(0, 0, 1), True, geometric=True, dash="dash" if kind == "x10" else None)
    layout["yaxis"]["title"] = {"text": "training loss"}
    _log_ticks(layout, "yaxis", traces, "y")
    layout["xaxis"].update(title={"text": "training step"})
    out.append((go.Figure(data=traces, layout=_titled(layout, "Training loss")),
                "The mean training loss since the previous record (log scale): " + (
                    "geometric mean of the seeds (line) and their range (band)."
                    if cfg.seeds > 1 else "one seed, so one line per network and no band.")))
    return out
