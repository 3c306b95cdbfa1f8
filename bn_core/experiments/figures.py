"""The experiments' figures (plotly), one per experiment; the colours of bn_core.style.

    figure(result)   the list of figures of the result's experiment
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from plotly.subplots import make_subplots

from bn_core.experiments.config import ACTIVATION_NAMES
from bn_core.experiments.depth import broke_text
from bn_core.experiments.drift import EARLY_SHARE
from bn_core.experiments.prose import cap, final_of, pct, plural, seed_pairs, seeds_shown
from bn_core.experiments.ranges import describe_range, range_ends, trainable_range
from bn_core.experiments.training import SweepResult
from bn_core.experiments.verdicts import PLACEMENT_PAIRS, placement_tests
from bn_core.records import network_label
from bn_core.style import COLORS, fill, titled

__all__ = ["figure", "placement_figure", "placement_final_figure", "lr_figure", "init_figure",
           "batch_figure", "depth_drift_figure", "depth_accuracy_figure", "TRAIN_MODE_COLOR"]

TRAIN_MODE_COLOR = "#CC79A7"          # BN evaluated in training mode (Okabe–Ito purple)


def _band(fig, x, lo, hi, placement, row=None, col=None, name=None, showlegend=False):
    kw = {} if row is None else dict(row=row, col=col)
    x = list(x)
    fig.add_trace(dict(type="scatter", x=x + x[::-1], y=list(hi) + list(lo)[::-1], mode="lines",
                       fill="toself",
                       fillcolor=fill(placement, 0.18), line=dict(width=0), hoverinfo="skip",
                       showlegend=showlegend, legendgroup=placement, name=name or ""), **kw)


def placement_figure(result: SweepResult):
    """Test accuracy over steps, one panel per activation: mean over seeds (line) and the range
    min–max (band) for each placement; the target accuracy dashed."""

    cfg = result.config
    acts = list(cfg.activations)
    fig = make_subplots(rows=1, cols=len(acts), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[ACTIVATION_NAMES[a] for a in acts])
    for c, act in enumerate(acts, start=1):
        for p in cfg.networks:
            runs = result.select(p, act)
            curves = np.array([r.test_acc for r in runs])                      # (seeds, R)
            steps = runs[0].steps
            with warnings.catch_warnings():           # all-NaN columns: every seed diverged
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(curves, axis=0)
                lo, hi = np.nanmin(curves, axis=0), np.nanmax(curves, axis=0)
            ok = np.isfinite(mean)
            _band(fig, steps[ok], lo[ok], hi[ok], p, 1, c)
            fig.add_trace(dict(type="scatter", x=steps[ok], y=mean[ok], mode="lines",
                               line=dict(color=COLORS[p], width=2.5), name=network_label(p),
                               legendgroup=p, showlegend=c == 1,
                               hovertemplate=f"{network_label(p)}<br>step %{{x}}<br>mean %{{y:.1%}}<extra></extra>"),
                          row=1, col=c)
        fig.add_hline(y=cfg.target, line=dict(color="#888", dash="dot", width=1), row=1, col=c)
        fig.update_xaxes(title_text="training step", row=1, col=c)
    fig.update_yaxes(title_text="test accuracy", tickformat=".0%", range=[0, 1.02], row=1, col=1)
    return titled(fig, f"Test accuracy over training: {seeds_shown(cfg.seeds)}; "
                       f"dotted: the {pct(cfg.target)} target", 430)


def placement_final_figure(result: SweepResult):
    """Final test accuracy, paired by seed: for each pair of placements and each activation,
    every seed's difference (dot; × where either run diverged), their mean (diamond; filled
    where the verdict calls it clear) and mean ± the margin the verdict uses (bar: the exact
    test's, at its Holm level)."""

    cfg = result.config
    acts = list(cfg.activations)
    acc_tests, _ = placement_tests(result)
    final = final_of(result)
    short = {"none": "no BN", "before": "BN before", "after": "BN after"}
    fig = make_subplots(rows=1, cols=len(acts), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[ACTIVATION_NAMES[a] for a in acts])
    for c, act in enumerate(acts, start=1):
        for i, (a, b) in enumerate(PLACEMENT_PAIRS):
            ra = sorted(result.select(a, act), key=lambda r: r.member.seed)
            rb = sorted(result.select(b, act), key=lambda r: r.member.seed)
            xa, xb = seed_pairs(ra, rb, final)
            d = 100 * (xa - xb)                                             # (seeds,) points
            broke = [ra_.diverged or rb_.diverged for ra_, rb_ in zip(ra, rb)]
            t = acc_tests[(act, a, b)]
            jitter = np.linspace(-0.12, 0.12, len(d)) if len(d) > 1 else np.zeros(1)
            name = f"{short[a]} − {short[b]}"
            fig.add_trace(dict(type="scatter", x=i + jitter, y=d, mode="markers",
                               marker=dict(color=COLORS[a], size=8, opacity=0.55,
                                           symbol=["x" if x else "circle" for x in broke]),
                               showlegend=False, customdata=[r.member.seed for r in ra],
                               hovertemplate=f"{name}<br>seed %{{customdata}}: %{{y:+.1f}} "
                                             f"points<extra></extra>"), row=1, col=c)
            margin = 100 * t.margin if math.isfinite(t.margin) else 0.0
            verdict_text = "clear" if t.clear else "not clear"
            fig.add_trace(dict(type="scatter", x=[i + 0.3], y=[100 * t.diff], mode="markers",
                               marker=dict(color=COLORS[a], size=12,
                                           symbol="diamond" if t.clear else "diamond-open",
                                           line=dict(width=2, color=COLORS[a])),
                               error_y=dict(type="data", array=[margin], color=COLORS[a],
                                            thickness=2, width=6),
                               showlegend=False,
                               hovertemplate=(f"{name}<br>mean %{{y:+.1f}} ± {margin:.1f} points "
                                              f"(the margin at level {t.level:.2g})<br>"
                                              f"{verdict_text}"
                                              "<extra></extra>")), row=1, col=c)
        fig.add_hline(y=0, line=dict(color="#888", width=1), row=1, col=c)
        fig.update_xaxes(tickvals=list(range(len(PLACEMENT_PAIRS))),
                         ticktext=[f"{short[a]}<br>− {short[b]}" for a, b in PLACEMENT_PAIRS],
                         range=[-0.5, 2.6], row=1, col=c)
    fig.update_yaxes(title_text="difference in final accuracy (points)", row=1, col=1)
    fig = titled(fig, "Final accuracy, paired by seed: each seed's difference (dot; ×: a run "
                      "diverged), mean ± the margin to be clear, as in the verdict (bar; filled: clear)", 360)
    return fig.update_layout(margin=dict(b=60))                    # no legend under it


def _grid_panel(fig, result, row, col, y_of, showlegend=True, log_x=True):
    cfg = result.config
    settings = cfg.settings
    for p in cfg.networks:
        med, lo, hi, div_x, div_n = [], [], [], [], []
        for v in settings:
            runs = result.select(p, setting=v)
            vals = y_of(runs)
            med.append(float(np.median(vals)))
            lo.append(float(np.min(vals)))
            hi.append(float(np.max(vals)))
            n_div = sum(r.diverged for r in runs)
            if n_div:
                div_x.append(v)
                div_n.append(n_div)
        _band(fig, settings, lo, hi, p, row, col)
        fig.add_trace(dict(type="scatter", x=settings, y=med, mode="lines+markers",
                           line=dict(color=COLORS[p], width=2.5), marker=dict(size=7),
                           name=network_label(p), legendgroup=p, showlegend=showlegend,
                           hovertemplate=f"{network_label(p)}<br>%{{x:g}}: median %{{y:.1%}}<extra></extra>"),
                      row=row, col=col)
        if div_x:
            fig.add_trace(dict(type="scatter", x=div_x, y=[result.chance] * len(div_x),
                               mode="markers+text", text=[f"{n} diverged" for n in div_n],
                               textposition="bottom center",
                               textfont=dict(color=COLORS[p], size=11),
                               marker=dict(symbol="x", size=12, color=COLORS[p],
                                           line=dict(width=2)),
                               name=f"{network_label(p)}: diverged", legendgroup=p, showlegend=False,
                               hovertemplate=f"{network_label(p)} diverged at %{{x:g}}<extra></extra>"),
                          row=row, col=col)
    fig.add_hline(y=cfg.target, line=dict(color="#888", dash="dot", width=1), row=row, col=col)
    if log_x:
        fig.update_xaxes(type="log", dtick=1, tickformat="~g", row=row, col=col)


def lr_figure(result: SweepResult):
    """Final test accuracy vs learning rate (log): median over seeds (line), min–max (band),
    diverged runs (×, with their count), the target (dotted); under it, each network's
    trainable range as a bar in its own row (an arrow where it runs into the grid's end)."""

    cfg = result.config
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.8, 0.2],
                        vertical_spacing=0.05)
    _grid_panel(fig, result, 1, 1, result.final)
    _range_strip(fig, result, 2, 1)
    fig.update_xaxes(type="log", dtick=1, tickformat="~g", row=2, col=1,
                     title_text="learning rate (log scale)")
    fig.update_yaxes(title_text="final test accuracy", tickformat=".0%", range=[-0.12, 1.05],
                     row=1, col=1)
    return titled(fig, f"Final test accuracy after {plural(cfg.steps, 'step')} vs learning "
                       f"rate: {seeds_shown(cfg.seeds, 'median')}; below: where the "
                       f"{'median ' if cfg.seeds > 1 else 'run '}reaches {pct(cfg.target)}", 500)


def _range_strip(fig, result, row, col):
    """Each network's trainable range as a thick bar in its own row of a strip under the
    curves (labels on the axis, clear of the data); a triangle at an end that is the grid's."""
    cfg = result.config
    settings = cfg.settings
    names = [f"{network_label(p)} trains" for p in cfg.networks]
    for p, name in zip(cfg.networks, names):
        accs = [result.final(result.select(p, setting=v)) for v in settings]
        r = trainable_range(settings, accs, cfg.target)
        if r is None:
            fig.add_trace(dict(type="scatter", x=[settings[0]], y=[name], mode="text",
                               text=[f"  nowhere reaches {pct(cfg.target)}"],
                               textposition="middle right", textfont=dict(color=COLORS[p], size=11),
                               showlegend=False, hoverinfo="skip"), row=row, col=col)
            continue
        low_edge, high_edge = range_ends(settings, r)
        text = describe_range(settings, r)
        fig.add_trace(dict(type="scatter", x=[r[0], r[1]], y=[name, name], mode="lines",
                           line=dict(color=COLORS[p], width=9), showlegend=False,
                           hovertemplate=f"{network_label(p)} trains: {text}<extra></extra>"),
                      row=row, col=col)
        ends = [(r[0], "triangle-left")] * low_edge + [(r[1], "triangle-right")] * high_edge
        if ends:
            fig.add_trace(dict(type="scatter", x=[e[0] for e in ends], y=[name] * len(ends),
                               mode="markers", marker=dict(symbol=[e[1] for e in ends], size=13,
                                                           color=COLORS[p]),
                               showlegend=False,
                               hovertemplate="the grid ends here: the range may go on<extra></extra>"),
                          row=row, col=col)
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=names[::-1],
                     range=[-0.6, len(names) - 0.4], automargin=True, showgrid=False,
                     row=row, col=col)


def init_figure(result: SweepResult):
    """Left: final test accuracy vs init scale (as `lr_figure`). Right: the std of each layer's
    activation input at step 0 (dotted) and at the end (solid) vs init scale, median over seeds."""

    cfg = result.config
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=["Final test accuracy",
                                        "Std of each layer's activation input"])
    _grid_panel(fig, result, 1, 1, result.final)
    fig.update_yaxes(title_text="final test accuracy", tickformat=".0%", range=[-0.12, 1.05],
                     row=1, col=1)
    settings = cfg.settings
    depth = len(cfg.hidden)
    for p in cfg.networks:
        for l in range(depth):
            for when, dash in (("start", "dot"), ("end", "solid")):
                ys = []
                for v in settings:
                    vals = np.array([getattr(r, f"z_std_{when}")[l]
                                     for r in result.select(p, setting=v)], dtype=float)
                    vals = vals[np.isfinite(vals)]
                    ys.append(float(np.median(vals)) if vals.size else None)
                opacity = 0.35 + 0.65 * (l + 1) / depth
                fig.add_trace(dict(type="scatter", x=settings, y=ys, mode="lines",
                                   line=dict(color=COLORS[p], dash=dash, width=1.5 + l * 0.5),
                                   opacity=opacity, showlegend=False, legendgroup=p,
                                   connectgaps=False,
                                   hovertemplate=(f"{network_label(p)}, layer {l + 1}, "
                                                  f"{'step 0' if when == 'start' else 'end'}"
                                                  "<br>init %{x:g}: std %{y:.3g}<extra></extra>")),
                              row=1, col=2)
    # legend entries for the line styles
    for name, dash in (("at step 0", "dot"), ("at the end", "solid")):
        fig.add_trace(dict(type="scatter", x=[None], y=[None], mode="lines",
                           line=dict(color="#555", dash=dash), name=name), row=1, col=2)
    for c in (1, 2):
        fig.update_xaxes(type="log", dtick=1, tickformat="~g",
                         title_text="init std of the weights (log scale)", row=1, col=c)
    fig.update_yaxes(type="log", dtick=1, tickformat="~g",
                     title_text="std (log scale; thicker = deeper layer)", row=1, col=2)
    return titled(fig, f"Initialisation scale, {plural(cfg.steps, 'step')}, "
                       f"{_per_point(cfg.seeds)}", 460)


def batch_figure(result: SweepResult):
    """Left: final eval-mode test accuracy vs batch size, both networks. Right: the BN network's
    test accuracy in eval mode (running averages) and in training mode (batch statistics)."""

    cfg = result.config
    bn = cfg.placement
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=["Final test accuracy (eval mode)",
                                        f"{cap(network_label(bn))}: eval mode (solid, as on the "
                                        f"left) vs training mode"])
    _grid_panel(fig, result, 1, 1, result.final)
    settings = cfg.settings
    # eval mode is the left panel's BN line (diverged runs left out): one legend entry for both
    modes = (("eval mode (running averages)", COLORS[bn], "solid", "circle", lambda r: r.final_acc,
              False),
             ("training mode (each test batch's own statistics)", TRAIN_MODE_COLOR, "dash",
              "square-open", lambda r: r.train_mode_acc, True))
    for mode, color, dash, symbol, get, legend in modes:
        med, lo, hi, xs = [], [], [], []
        for v in settings:
            vals = np.array([get(r) for r in result.select(bn, setting=v) if not r.diverged])
            if vals.size == 0:
                continue
            xs.append(v)
            med.append(float(np.median(vals)))
            lo.append(float(vals.min()))
            hi.append(float(vals.max()))
        if xs:
            fig.add_trace(dict(type="scatter", x=xs, y=med, mode="lines+markers",
                               line=dict(color=color, dash=dash, width=2.5),
                               marker=dict(symbol=symbol, size=8), name=f"BN in {mode}",
                               showlegend=legend, legendgroup=None if legend else bn,
                               hovertemplate=f"{mode}<br>batch %{{x}}: %{{y:.1%}}<extra></extra>"),
                          row=1, col=2)
    for c in (1, 2):
        fig.update_xaxes(type="log", title_text="batch size (log scale)", tickvals=settings,
                         ticktext=[str(int(v)) for v in settings], row=1, col=c)
        fig.update_yaxes(tickformat=".0%", range=[-0.12, 1.05], row=1, col=c)
    fig.update_yaxes(title_text="test accuracy", row=1, col=1)
    budget = (f"{plural(cfg.examples, 'example')} each" if cfg.budget == "examples"
              else f"{plural(cfg.steps, 'step')} each")
    return titled(fig, f"Batch size, {budget} at lr {cfg.lr:g}, {_per_point(cfg.seeds)}", 460)


def _per_point(seeds: int) -> str:
    """'5 seeds per point (median; band: range)'; '1 seed per point'."""
    return "1 seed per point" if seeds == 1 else f"{seeds} seeds per point (median; band: range)"


def _lead(result: SweepResult, title: str) -> str:
    """A title that leads with what broke (bn_core.experiments.depth.broke_text), if anything."""
    broke = broke_text(result)
    return f"{broke}.<br>{title}" if broke else title


def depth_drift_figure(result: SweepResult):
    """How far each layer's inputs moved against the layer index (log scale), one line per depth
    (the median over seeds; thicker = deeper network): without BN beside with BN, late (10 % of
    the steps → the end) above early (step 0 → 10 %); dotted: the late noise floor."""
    cfg = result.config
    nets = cfg.networks
    fig = make_subplots(rows=2, cols=2, shared_xaxes=True, shared_yaxes=True,
                        horizontal_spacing=0.05, vertical_spacing=0.1,
                        subplot_titles=[f"{cap(network_label(p))}, {w}" for w in (
                            "late", f"early (first {EARLY_SHARE:.0%} of the steps)")
                            for p in nets])
    depths = list(cfg.depths)
    any_collapsed = False
    for c, p in enumerate(nets, start=1):
        for i, d in enumerate(depths):
            runs = [r for r in result.select(p, setting=float(d))
                    if r.drift_late is not None and not r.diverged]
            if not runs:
                continue
            layers = list(range(1, d + 1))
            width = 1.2 + 2.3 * (i + 1) / len(depths)
            for row, (values, dash) in enumerate(((lambda r: r.drift_late, "solid"),
                                                  (lambda r: r.drift_early, "solid"),
                                                  (lambda r: r.noise, "dot")), start=1):
                # a collapsed layer (every example gives nearly the same input) is left out,
                # as in the verdicts' slopes: a gap where it collapsed in every seed
                vals = np.array([np.where(np.asarray(r.collapsed, bool), np.nan, values(r))
                                 for r in runs], dtype=float)                      # (seeds, d)
                any_collapsed |= any(bool(np.any(r.collapsed)) for r in runs)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    med = np.nanmedian(vals, axis=0)                               # (d,)
                med = np.where(med > 0, med, np.nan)                       # log axis: no zeros
                floor = dash == "dot"
                text = [""] * (d - 1) + [f"{d}"] if not floor else None
                fig.add_trace(dict(
                    type="scatter", x=layers, y=med.tolist(),
                    mode="lines" if floor else "lines+markers+text", text=text,
                    textposition="middle right", textfont=dict(color=COLORS[p], size=11),
                    line=dict(color=COLORS[p], width=1 if floor else width, dash=dash),
                    opacity=0.5 if floor else 0.45 + 0.55 * (i + 1) / len(depths),
                    marker=dict(size=5), showlegend=False,
                    hovertemplate=(f"{network_label(p)}, {d} layers<br>layer %{{x}}: "
                                   f"{'noise floor' if floor else 'drift'} %{{y:.3g}}"
                                   "<extra></extra>")), row=1 if row == 3 else row, col=c)
    over = "median over seeds; " if cfg.seeds > 1 else ""
    keys = [(f"drift ({over}the number: the network's depth)", "solid"),
            ("noise floor (late jitter)", "dot")]
    if any_collapsed:
        keys.append((f"collapsed layers left out{' (per seed)' if over else ''}, as in the "
                     "slopes", "dash"))
    for name, dash in keys:
        fig.add_trace(dict(type="scatter", x=[None], y=[None], mode="lines",
                           line=dict(color="#555" if dash != "dash" else "rgba(0,0,0,0)",
                                     dash=dash), name=name), row=1, col=1)
    fig.update_yaxes(type="log", dtick=1, exponentformat="power")
    fig.update_yaxes(title_text="move ÷ the unit's spread (log)", row=1, col=1)
    fig.update_yaxes(title_text="move ÷ the unit's spread (log)", row=2, col=1)
    fig.update_xaxes(title_text="hidden layer", dtick=1, row=2)
    return titled(fig, _lead(result, f"How far each layer's inputs moved, against the layer: "
                                     f"one line per depth, {plural(cfg.seeds, 'seed')} each"),
                  640)


def depth_accuracy_figure(result: SweepResult):
    """Final test accuracy against depth, without and with BN: median over seeds (line), range
    (band), diverged runs (×), the target (dotted)."""
    cfg = result.config
    fig = make_subplots(rows=1, cols=1)
    _grid_panel(fig, result, 1, 1, result.final, log_x=False)
    fig.update_xaxes(title_text="hidden layers", tickvals=list(cfg.depths), row=1, col=1)
    fig.update_yaxes(title_text="final test accuracy", tickformat=".0%", range=[-0.05, 1.05],
                     row=1, col=1)
    return titled(fig, _lead(result, f"Final test accuracy against depth after "
                                     f"{plural(cfg.steps, 'step')}: "
                                     f"{seeds_shown(cfg.seeds, 'median')}"), 420)


def figure(result: SweepResult) -> list:
    """The figures of a sweep, by experiment."""
    exp = result.config.experiment
    if exp == "placement":
        return [placement_figure(result), placement_final_figure(result)]
    if exp == "depth":
        return [depth_drift_figure(result), depth_accuracy_figure(result)]
    return [{"lr": lr_figure, "init": init_figure, "batch": batch_figure}[exp](result)]
