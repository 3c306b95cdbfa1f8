"""The lab's downloads: the recorded numbers as one tidy table (CSV), and every chart in one
standalone HTML file.

    table(history)   one row per (step, network, layer, unit): the whole layer (unit empty) and
                     each recorded unit (1…16), columns
                         step, network, layer, unit, p15, p50, p85, mean, std,
                         train_loss, test_accuracy, saturation, weight_grad_norm, diverged
                     (the per-network and per-layer columns are filled on the whole-layer rows;
                     p15/p50/p85, mean and std on every row): enough to redraw every figure
    export_html(figures, title, notes)   plotly.js inline once, so the file opens offline
    report_html(history, layer, unit, log_x, link)   the lab's views and reading in such a file
    pytorch_script(config)   the run as a standalone PyTorch script (bn_core.lab.script)
"""

from __future__ import annotations

import html

import numpy as np

from bn_core.lab.script import SCRIPT_MIME, SCRIPT_NAME, pytorch_script
from bn_core.records import UNITS_RECORDED, History, network_label

__all__ = ["table", "export_html", "report_html", "COLUMNS", "pytorch_script", "SCRIPT_NAME",
           "SCRIPT_MIME"]

COLUMNS = ["step", "network", "layer", "unit", "p15", "p50", "p85", "mean", "std", "train_loss",
           "test_accuracy", "saturation", "weight_grad_norm", "diverged"]


def table(history: History):
    """The tidy table of everything recorded (module doc), as a pandas DataFrame."""
    import pandas as pd

    rows = []
    units = min(history.config.width, UNITS_RECORDED)
    for frame in history.frames:
        for net, snap in frame.items():
            for l, rec in enumerate(snap.layers):
                common = {"step": snap.step, "network": network_label(net), "layer": l + 1}
                rows.append({**common, "unit": None, "p15": rec.p15, "p50": rec.p50,
                             "p85": rec.p85, "mean": rec.mean, "std": rec.std,
                             "train_loss": snap.loss, "test_accuracy": snap.test_acc,
                             "saturation": rec.saturation, "weight_grad_norm": rec.grad_norm,
                             "diverged": snap.divergence is not None})
                p = rec.unit_percentiles[:, :units].astype(np.float64)               # (3, units)
                for j in range(units):
                    rows.append({**common, "unit": j + 1, "p15": p[0, j], "p50": p[1, j],
                                 "p85": p[2, j], "mean": float(rec.unit_mean[j]),
                                 "std": float(rec.unit_std[j])})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["unit"] = frame["unit"].astype("Int64")
    return frame


def table_csv(history: History) -> str:
    """`table` as CSV text (the lab's download)."""
    return table(history).to_csv(index=False)


def export_html(figures: dict, title: str, notes: list[str] = ()) -> str:
    """One standalone HTML page: a title, notes (plain text, e.g. the settings and the reading),
    then each figure; plotly.js is written inline once, so it opens offline."""
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


def report_html(history: History, layer: int, unit: int, log_x: bool, link: str) -> str:
    """Every view of the lab (bn_core.lab.views) and its reading, as `export_html` writes them:
    the settings, the link, the reading's sentences, then the charts under their headings."""
    from bn_core.lab.reading import SANTURKAR_NOTE, read_history
    from bn_core.lab.views import VIEWS, sections, view_figure

    titles = sections(history.config.activation, layer, unit)
    figs = {titles[v][0].split(" · ", 1)[1]: view_figure(v, history, layer, unit, log_x,
                                                         animate=True) for v in VIEWS}
    r = read_history(history, layer)
    notes = ["Settings: " + ", ".join(f"{k} = {v}" for k, v in history.config.to_dict().items()),
             f"Link: {link}", *r.lines, *r.divergences.values(), *r.stalled.values(),
             *([SANTURKAR_NOTE] if r.caution else [])]
    return export_html(figs, "BatchNorm Lab: covariate-shift lab",
                       [n.replace("**", "").replace("*", "") for n in notes])
