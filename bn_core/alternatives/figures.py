"""The lesson's figures (plotly), Okabe–Ito colours as bn_core.style.

    figures(result)   the figures of the result's experiment
    axis_figure()     which numbers each normaliser averages over, on a small N × D grid
"""

from __future__ import annotations

from functools import partial

import numpy as np
from plotly.subplots import make_subplots

from bn_core.alternatives.config import NORM_LABELS, REGULARISER_LABELS, SHIFT_LABELS
from bn_core.alternatives.training import Result
from bn_core.style import titled

__all__ = ["figures", "caption", "regular_figure", "shift_variance_figure", "shift_accuracy_figure",
           "batch_figure", "axis_figure", "COLORS"]

COLORS = {"none": "#D55E00", "dropout": "#E69F00", "bn": "#0072B2", "bn_dropout": "#CC79A7",
          "batch": "#0072B2", "renorm": "#56B4E9", "layer": "#009E73", "group": "#E69F00",
          "rms": "#CC79A7", "all": "#E69F00", "last": "#009E73", "recomputed": "#0072B2"}
LOG_TICKS = [m * 10.0 ** e for e in range(-4, 5) for m in (1, 2, 5)]
_layout = partial(titled, bottom=100, legend_y=-0.18)   # the experiments' look, a shorter legend


def figures(result: Result) -> list:
    if result.config.experiment == "regular":
        return [regular_figure(result)]
    if result.config.experiment == "shift":
        return [shift_variance_figure(result), shift_accuracy_figure(result)]
    return [batch_figure(result)]


def caption(result: Result) -> str:
    """What the experiment's figures show, said from the data."""
    exp = result.config.experiment
    if exp == "regular":
        train = [r.train_acc for r in result.networks if not r.diverged]
        lo, hi = (f"{100 * v:.0f}%" for v in (min(train or [0]), max(train or [0])))
        fit = ("every network here gets all its training examples right" if train and
               min(train) == 1.0 else
               f"every network here reaches at least {100 * min(train):.1f}% on its training "
               f"examples" if train and min(train) >= 0.99 else
               f"here the networks reach {lo if lo == hi else f'{lo[:-1]}–{hi}'} on their "
               f"training examples" if train else "every network diverged")
        return ("Left: test accuracy in eval mode (higher: the network generalises better). "
                "Right: training minus test accuracy, the overfitting a regulariser should "
                f"shrink; {fit}.")
    if exp == "shift":
        return ("First chart: one dot per unit of each BN that follows a dropout; above the "
                "dotted diagonal, BN stored more variance than its input has in eval mode, so "
                "at test time it scales that input down. Second: what that costs in test "
                "accuracy, and the two fixes.")
    return ("Left: the batch size falls from left to right, as in Wu & He's figure (they plot "
            "the error, so their BN curve rises where this one falls). Right: eval-mode minus "
            "training-mode test accuracy (the test set cut into batches of the training size); "
            "exactly 0 for a normaliser without running statistics.")


def _spread(n: int) -> np.ndarray:
    """Where n seeds' dots sit around their position (spread across a narrow band)."""
    return np.linspace(-0.04, 0.04, n) if n > 1 else np.zeros(max(n, 1))


def _dots(fig, x0, values, color, name, col, legend, offset):
    """Each seed's value (small dots, spread across a narrow band) and the mean ± sd
    (diamond with bars) at x0 + offset."""
    values = np.asarray(values, dtype=float) * 100
    spread = _spread(len(values))
    fig.add_trace(dict(type="scatter", x=x0 + offset + spread, y=values, mode="markers",
                       marker=dict(color=color, size=6, opacity=0.45), legendgroup=name,
                       showlegend=False, name=name,
                       hovertemplate=f"{name}<br>one seed: %{{y:.1f}}%<extra></extra>"),
                  row=1, col=col)
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    fig.add_trace(dict(type="scatter", x=[x0 + offset], y=[float(np.mean(values))],
                       mode="markers", name=name, legendgroup=name, showlegend=legend,
                       marker=dict(color=color, size=11, symbol="diamond",
                                   line=dict(color="white", width=1)),
                       error_y=dict(type="data", array=[sd], color=color, thickness=1.5, width=4),
                       hovertemplate=f"{name}<br>mean %{{y:.1f}}% ± {sd:.1f} (sd)<extra></extra>"),
                  row=1, col=col)


def regular_figure(result: Result):
    """Test accuracy and the train − test gap per batch size: the four networks side by side."""
    cfg = result.config
    sizes = list(cfg.batch_sizes)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=["Test accuracy (eval mode)",
                                        "Train − test accuracy gap (overfitting)"])
    offsets = np.linspace(-0.27, 0.27, len(REGULARISER_LABELS))
    for i, b in enumerate(sizes):
        for off, (g, name) in zip(offsets, REGULARISER_LABELS.items()):
            runs = [r for r in result.select(g, b) if not r.diverged]
            if not runs:
                continue
            _dots(fig, i, [r.test_acc for r in runs], COLORS[g], name, 1, i == 0, off)
            _dots(fig, i, [r.train_acc - r.test_acc for r in runs], COLORS[g], name, 2, False, off)
    for col in (1, 2):
        fig.update_xaxes(tickvals=list(range(len(sizes))), ticktext=[f"batch {b}" for b in sizes],
                         range=[-0.5, len(sizes) - 0.5], row=1, col=col)
    fig.update_yaxes(title_text="test accuracy (%)", row=1, col=1)
    fig.update_yaxes(title_text="train − test (points)", row=1, col=2)
    return _layout(fig, f"Trained on {result.n_train} digits for {cfg.epochs} epochs: each seed "
                        f"(dot) and the mean ± sd over {cfg.seeds} seed{'s' * (cfg.seeds > 1)} "
                        f"(diamond)")


def shift_variance_figure(result: Result):
    """Per unit of each BN that follows a dropout: BN's stored running variance against the
    variance its input has in eval mode (dropout off), log-log; the diagonal is no mismatch."""
    cfg, keep = result.config, 1.0 - float(result.config.dropout)
    layers = result.variances[1:]
    fig = make_subplots(rows=1, cols=len(layers), horizontal_spacing=0.07,
                        subplot_titles=[f"BN of layer {l} (after a dropout)"
                                        for l in range(2, len(layers) + 2)])
    groups = [r.member.group for r in result.networks]
    for c, (running, evaluated) in enumerate(layers, start=1):
        lo = float(np.nanmin([np.nanmin(evaluated), np.nanmin(running)]))
        hi = float(np.nanmax([np.nanmax(evaluated), np.nanmax(running)]))
        lo, hi = max(lo, 1e-6) / 1.5, hi * 1.5
        for g in ("all", "last"):
            ks = [k for k, x in enumerate(groups) if x == g]
            fig.add_trace(dict(type="scatter", x=evaluated[ks].ravel(), y=running[ks].ravel(),
                               mode="markers", name=SHIFT_LABELS[g], legendgroup=g,
                               showlegend=c == 1, marker=dict(color=COLORS[g], size=4,
                                                              opacity=0.5),
                               hovertemplate="eval-mode variance %{x:.3g}<br>stored %{y:.3g}"
                                             "<extra></extra>"), row=1, col=c)
        fig.add_trace(dict(type="scatter", x=[lo, hi], y=[lo, hi], mode="lines",
                           name="stored = eval-mode (no shift)", showlegend=c == 1,
                           legendgroup="diag", line=dict(color="#444", dash="dot", width=1)),
                      row=1, col=c)
        if result.predicted:           # the prediction through this layer's trained weights
            ks = [k for k, x in enumerate(groups) if x == "all"]
            factor = float(np.nanmedian(result.predicted[c - 1][ks]))
            fig.add_trace(dict(type="scatter", x=[lo, hi], y=[lo * factor, hi * factor],
                               mode="lines", name="stored = eval-mode × the prediction through "
                               "the trained weights (median)", showlegend=c == 1,
                               legendgroup="pred", line=dict(color="#888", dash="dash", width=1)),
                          row=1, col=c)
        fig.add_trace(dict(type="scatter", x=[lo, hi], y=[lo / keep, hi / keep], mode="lines",
                           name=f"stored = eval-mode ÷ {keep:g}: one unit of mean 0 fed straight "
                           "to BN (Li et al.; no weight layer between)",
                           showlegend=c == 1, legendgroup="li",
                           line=dict(color="#bbb", dash="dot", width=1)), row=1, col=c)
        ticks = dict(type="log", tickvals=LOG_TICKS, ticktext=[f"{v:g}" for v in LOG_TICKS])
        fig.update_xaxes(title_text="its input's variance in eval mode", row=1, col=c, **ticks)
        fig.update_yaxes(row=1, col=c, **ticks)
    fig.update_yaxes(title_text="BN's stored running variance", row=1, col=1)
    running, evaluated = layers[0]
    ks = [k for k, x in enumerate(groups) if x == "all"]
    with np.errstate(all="ignore"):
        ratio = float(np.nanmedian(running[ks] / evaluated[ks]))
    said = ("makes it store more variance than it meets at test time" if ratio > 1.1 else
            "makes it store less variance than it meets at test time" if ratio < 0.9 else
            "leaves its stored variance close to what it meets at test time")
    _layout(fig, f"One dot per unit and seed: dropout p = {cfg.dropout:g} before a BN {said} "
                 f"(median {ratio:.2f}× in layer 2)", 470)
    return fig.update_layout(margin=dict(b=130), legend=dict(y=-0.25))


def shift_accuracy_figure(result: Result):
    """Test accuracy of the three variants, each seed a dot; the same network's dots (as
    trained, recomputed) joined by a line."""
    runs = {g: sorted(result.select(g), key=lambda r: r.member.seed) for g in ("all", "last")}
    cols = {"all": 0, "recomputed": 1, "last": 2}
    fig = make_subplots(rows=1, cols=1)
    trained = [r for r in runs["all"] if not r.diverged]
    for r, dx in zip(trained, _spread(len(trained))):
        fig.add_trace(dict(type="scatter", x=[dx, 1 + dx],
                           y=[100 * r.test_acc, 100 * r.recomputed_acc], mode="lines",
                           line=dict(color="#bbb", width=1), showlegend=False, hoverinfo="skip"),
                      row=1, col=1)
    values = {"all": [r.test_acc for r in runs["all"]], "last": [r.test_acc for r in runs["last"]],
              "recomputed": [r.recomputed_acc for r in runs["all"]]}
    for g, vals in values.items():
        vals = [v for v in vals if np.isfinite(v)]
        if vals:
            _dots(fig, cols[g], vals, COLORS[g], SHIFT_LABELS[g], 1, True, 0.0)
    fig.update_xaxes(tickvals=[0, 1, 2], range=[-0.5, 2.5],
                     ticktext=["dropout before every BN<br>(as trained)",
                               "the same networks,<br>statistics recomputed",
                               "dropout only after<br>the last BN"])
    fig.update_yaxes(title_text="test accuracy (%)")
    return _layout(fig, "Test accuracy (eval mode): each seed (dot; grey lines join the same "
                        "network) and the mean ± sd (diamond)", 400)


def batch_figure(result: Result):
    """Eval-mode test accuracy against the batch size (largest first, as Wu & He's figure), mean
    over seeds (line) and their range (band); and eval − training-mode accuracy."""
    cfg = result.config
    sizes = sorted(cfg.batch_sizes, reverse=True)
    xs = [str(b) for b in sizes]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1, column_widths=[0.6, 0.4],
                        subplot_titles=["Test accuracy in eval mode",
                                        "Eval mode − training mode (points)"])
    for n in cfg.norms:
        runs = [[r for r in result.select(n, b) if not r.diverged] for b in sizes]
        acc = [100 * np.array([r.test_acc for r in rs]) for rs in runs]
        mean = [float(a.mean()) if a.size else None for a in acc]
        lo = [float(a.min()) if a.size else None for a in acc]
        hi = [float(a.max()) if a.size else None for a in acc]
        color, name = COLORS[n], NORM_LABELS[n]
        rgb = tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))
        fig.add_trace(dict(type="scatter", x=xs + xs[::-1], y=hi + lo[::-1], fill="toself",
                           mode="lines",
                           fillcolor=f"rgba({rgb[0]},{rgb[1]},{rgb[2]},0.15)", line=dict(width=0),
                           hoverinfo="skip", showlegend=False, legendgroup=n), row=1, col=1)
        fig.add_trace(dict(type="scatter", x=xs, y=mean, mode="lines+markers", name=name,
                           legendgroup=n, line=dict(color=color, width=2.5),
                           hovertemplate=f"{name}<br>batch %{{x}}<br>mean %{{y:.1f}}%<extra></extra>"),
                      row=1, col=1)
        gap = [float(np.mean([100 * (r.test_acc - r.train_mode_acc) for r in rs])) if rs else None
               for rs in runs]
        fig.add_trace(dict(type="scatter", x=xs, y=gap, mode="lines+markers", name=name,
                           legendgroup=n, showlegend=False, line=dict(color=color, width=1.5),
                           hovertemplate=f"{name}<br>batch %{{x}}<br>%{{y:+.1f}} points<extra></extra>"),
                      row=1, col=2)
    for col in (1, 2):
        fig.update_xaxes(title_text="batch size (examples per step)", type="category", row=1, col=col)
    fig.update_yaxes(title_text="test accuracy (%)", row=1, col=1)
    fig.add_hline(y=0, line=dict(color="#888", width=1, dash="dot"), row=1, col=2)
    return _layout(fig, f"Each normaliser in BN's place, {cfg.examples:,} training examples per "
                        f"network: mean over {cfg.seeds} seed{'s' * (cfg.seeds > 1)} (line) and "
                        f"their range (band)", 440)


def axis_figure(n: int = 6, d: int = 8, groups: int = 2, at: tuple[int, int] = (2, 5)):
    """Which values each normaliser's mean and variance are taken over, for the value at
    (example, unit) `at` of an N × D batch: BN a column, LayerNorm a row, GroupNorm the block
    of the row in the value's group, RMSNorm a row (mean of x², nothing subtracted)."""
    i, j = at
    m = d // groups
    sets = {"<b>BatchNorm</b><br>one unit, all examples": lambda a, b: b == j,
            "<b>LayerNorm</b><br>one example, all units": lambda a, b: a == i,
            f"<b>GroupNorm</b> ({groups} groups)<br>one example, its group":
                lambda a, b: a == i and b // m == j // m,
            "<b>RMSNorm</b><br>one example, not centred": lambda a, b: a == i}
    fig = make_subplots(rows=1, cols=4, horizontal_spacing=0.04, subplot_titles=list(sets))
    for c, inside in enumerate(sets.values(), start=1):
        z = [[2 if (a, b) == (i, j) else 1 if inside(a, b) else 0 for b in range(d)]
             for a in range(n)]
        fig.add_trace(dict(type="heatmap", z=z, x=list(range(1, d + 1)), y=list(range(1, n + 1)),
                           zmin=0, zmax=2, showscale=False, xgap=2, ygap=2,
                           colorscale=[[0, "#eeeeee"], [0.5, "#56B4E9"], [1, "#0072B2"]],
                           hovertemplate="example %{y}, unit %{x}<extra></extra>"), row=1, col=c)
        fig.update_xaxes(title_text="unit (feature)", dtick=1, row=1, col=c)
        fig.update_yaxes(autorange="reversed", dtick=1, showticklabels=c == 1, row=1, col=c)
    fig.update_yaxes(title_text="example in the batch", row=1, col=1)
    fig.update_annotations(font=dict(size=12))
    return _layout(fig, f"A batch of {n} examples × {d} units: the dark cell is normalised with "
                        f"the mean and variance of the blue ones", 330).update_layout(
        margin=dict(t=100, b=50))
