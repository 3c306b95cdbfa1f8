"""Compare runs: a learner's runs side by side (the lab keeps the last few, bn_core.lab.state),
labelled by what differs between them.

    run_labels(configs)                       "lr 2" / "lr 0.5", or "run 1", "run 2" if equal
    compare_figure(histories, labels, layer, unit, log_x)
                                              test accuracy of every network of every run (left)
                                              and the chosen unit's median with its 15–85 band
                                              (right); colour = network, dash = run

The right panel's y range is what the networks that did not diverge show: a network that blew
up (1e11 before its loss turned NaN) would otherwise flatten every other run to a line at 0. Its
line runs off the chart, and a note under the panel says how far it went. Ticks are plain numbers
or powers of 10, never SI suffixes ("600B" reads like bytes).
"""

from __future__ import annotations

import math

import numpy as np

from bn_core.lab.figures import (empty_figure, keep_in_legend, legend_name, step_axis, time_title,
                                 x_of)
from bn_core.records import UNITS_RECORDED, History
from bn_core.style import COLORS, arr, base_layout, cell, figure, fill, grid
from bn_core.trainer import TrainConfig

__all__ = ["run_labels", "compare_figure", "unit_range", "off_chart_note", "RUN_DASHES"]

RUN_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
_SKIP = ("record_every",)        # how often a run was recorded is not a setting a learner chose


def run_labels(configs: list[TrainConfig]) -> list[str]:
    """Each run named by the settings in which the runs differ ("lr 2, batch 2"), in field
    order; runs with equal settings are told apart by number."""
    if not configs:
        return []
    names = [c.name for c in TrainConfig.controls() if c.name not in _SKIP
             and len({repr(getattr(k, c.name)) for k in configs}) > 1]
    labels = []
    for i, config in enumerate(configs):
        parts = [f"{_short(n)} {TrainConfig.control(n).show(getattr(config, n))}" for n in names]
        labels.append(", ".join(parts) or f"run {i + 1}")
    seen: dict[str, int] = {}
    for i, label in enumerate(labels):              # equal labels: number them
        seen[label] = seen.get(label, 0) + 1
        if labels.count(label) > 1:
            labels[i] = f"{label} (run {seen[label]})"
    return labels


def _short(name: str) -> str:
    return {"lr": "lr", "batch_size": "batch", "init_scale": "init", "eps": "ε",
            "placement": "BN", "activation": "", "dataset": ""}.get(name, name.replace("_", " "))


def compare_figure(histories: list[History], labels: list[str], layer: int, unit: int,
                   log_x: bool = True, as_dict: bool = False):
    """See the module doc. layer, unit: 0-based; a run too shallow or narrow for them shows
    its accuracy only."""
    if not histories:
        return empty_figure("no runs to compare yet: train one, change a setting, train again",
                            as_dict=as_dict)
    if len(labels) != len(histories):
        raise ValueError(f"labels: expected one per run ({len(histories)}), got {len(labels)}")
    layout = base_layout(380, **grid(1, 2, hgap=0.1, share_y=None, share_x=False, col_titles=[
        "test accuracy", f"layer {layer + 1}, unit {unit + 1}: median and 15–85 % of its input"]))
    layout["hovermode"] = "x"
    layout["legend"].update(y=-0.28, font={"size": 11})
    traces, last, kept, cut = [], 1, [], []
    for r, (h, label) in enumerate(zip(histories, labels)):
        dash = RUN_DASHES[r % len(RUN_DASHES)]
        last = max(last, h.config.steps)
        for net in h.networks:
            snaps = h.snapshots(net)
            steps = [s.step for s in snaps]
            x, color = x_of(steps, log_x), COLORS.get(net)
            name = f"{label}, {legend_name(h, net)}"
            common = {"type": "scatter", "mode": "lines", "x": x, "legendgroup": name,
                      "line": {"color": color, "dash": dash, "width": 2}, "customdata": steps}
            traces.append({**common, "y": arr([s.test_acc for s in snaps]), "name": name,
                           **cell(0, 0, 2), **keep_in_legend(snaps),
                           "hovertemplate": f"{name}, step %{{customdata:,}}: %{{y:.1%}}"
                                            "<extra></extra>"})
            if layer < h.config.depth and unit < min(h.config.width, UNITS_RECORDED):
                p = [s.layers[layer].unit_percentiles[:, unit] for s in snaps]   # (T, 3)
                low, mid, high = (arr([q[i] for q in p]) for i in range(3))
                div = h.divergence.get(net)
                if div is None:
                    kept.append((name, low, high))
                else:
                    cut.append((f"{name}<br>diverged at step {div.step:,}", low, high))
                band = {"type": "scatter", "mode": "lines", "x": x, "showlegend": False,
                        "legendgroup": name, "hoverinfo": "skip", **cell(0, 1, 2),
                        "line": {"width": 0, "color": color}}
                traces += [{**band, "y": high},
                           {**band, "y": low, "fill": "tonexty", "fillcolor": fill(net, 0.12)},
                           {**common, "y": mid, "showlegend": False, **cell(0, 1, 2),
                            "hovertemplate": f"{name}: median %{{y:.2f}}<extra></extra>"}]
    layout["xaxis"].update(step_axis(last, log_x, title=False))
    layout["xaxis2"].update(step_axis(last, log_x, title=False))
    time_title(layout, log_x)
    layout["yaxis"].update(range=[0, 1.02], tickformat=".0%")
    y_range = unit_range(kept, cut)
    layout["yaxis2"].update(title={"text": "input z", "standoff": 4}, range=y_range,
                            exponentformat="power", separatethousands=True)
    note = off_chart_note(cut, y_range)
    if note:
        layout["annotations"].append({
            "text": note, "xref": "x2 domain", "yref": "y2 domain", "x": 0.98, "y": 0.98,
            "xanchor": "right", "yanchor": "top", "align": "right", "showarrow": False,
            "font": {"size": 11, "color": "#444444"}, "bgcolor": "rgba(255,255,255,0.85)"})
    return figure(traces, layout, as_dict=as_dict)


def _finite(bands) -> np.ndarray:
    values = np.concatenate([np.asarray(v, dtype=float) for _, low, high in bands
                             for v in (low, high)] or [np.zeros(0)])
    return values[np.isfinite(values)]


def unit_range(kept: list, cut: list) -> list[float]:
    """The right panel's y range: the finite band values of the networks that did not diverge
    (`kept`: (name, low, high) each), with a margin; only when none has any, the diverged ones'
    (`cut`). [−1, 1] when there is nothing finite at all."""
    values = _finite(kept)
    if not values.size:
        values = _finite(cut)
    if not values.size:
        return [-1.0, 1.0]
    lo, hi = float(values.min()), float(values.max())
    pad = 0.05 * (hi - lo) if hi > lo else max(1.0, abs(hi) * 0.1)
    return [lo - pad, hi + pad]


def off_chart_note(cut: list, y_range: list[float]) -> str | None:
    """For each diverged network whose band leaves the y range: how far it went, so a line
    running off the chart is not a mystery."""
    lines = []
    for name, low, high in cut:
        values = _finite([(name, low, high)])
        beyond = [v for v in (values.min(initial=math.inf), values.max(initial=-math.inf))
                  if math.isfinite(v) and not y_range[0] <= v <= y_range[1]]
        if beyond:
            lines.append(f"{name}, off the chart (to "
                         f"{' and '.join(f'{v:.3g}' for v in beyond)})")
    return "<br>".join(lines) or None
