"""bn_core.lab.export: the tidy CSV table against the records it was made from, and the standalone
HTML file."""

import html
import io
import math

import numpy as np
import pandas as pd
import pytest
from plotly.io.json import to_json_plotly
from plotly.offline import get_plotlyjs

from bn_core.lab import export, views
from bn_core.records import (UNITS_RECORDED, Divergence, History, Snapshot, fixed_edges,
                             layer_records)
from bn_core.trainer import Run, TrainConfig


def make_history(width, depth=2, steps=(0, 10, 20), seed=0) -> History:
    """Two networks, `depth` layers of `width` units, records of random z; "before" diverges at
    the last step (its snapshot there is marked)."""
    rng = np.random.default_rng(seed)
    config = TrainConfig(depth=depth, width=width, steps=steps[-1])
    h = History(config, ["none", "before"], probe_size=30)
    h.edges = fixed_edges([np.zeros(1)], 20)
    for i, step in enumerate(steps):
        z = [rng.normal(l, 1 + i, (2, 30, width)).astype(np.float32) for l in range(depth)]
        recs = [layer_records(v, h.edges, "sigmoid") for v in z]
        frame = {}
        for k, net in enumerate(h.networks):
            layers = [recs[l][k] for l in range(depth)]
            for l, rec in enumerate(layers):
                rec.grad_norm = float(10 * k + l + i / 8)
            div = None
            if net == "before" and step == steps[-1]:
                div = h.divergence[net] = Divergence(step, 1, "weight gradient")
            frame[net] = Snapshot(net, step, 2.0 - i / 4 if div is None else math.nan,
                                  0.25 * (i + k), layers, div)
        h.frames.append(frame)
    return h


@pytest.fixture(scope="module", params=[20, 5], ids=["width20", "width5"])
def recorded(request):
    h = make_history(request.param)
    return h, export.table(h)


def test_columns():
    assert export.COLUMNS == ["step", "network", "layer", "unit", "p15", "p50", "p85", "mean",
                              "std", "train_loss", "test_accuracy", "saturation",
                              "weight_grad_norm", "diverged"]
    h = make_history(5)
    assert list(export.table(h).columns) == export.COLUMNS


def test_one_whole_layer_row_and_one_row_per_recorded_unit(recorded):
    h, t = recorded
    units = min(h.config.width, UNITS_RECORDED)
    assert len(t) == len(h.frames) * 2 * h.config.depth * (1 + units)
    keys = t[["step", "network", "layer"]].value_counts()
    assert (keys == 1 + units).all() and len(keys) == len(h.frames) * 2 * h.config.depth
    for (step, net, layer), rows in t.groupby(["step", "network", "layer"]):
        assert rows["unit"].isna().sum() == 1
        assert list(rows["unit"].dropna()) == list(range(1, units + 1))
    assert set(t["network"]) == {"without BN", "BN before activation"}
    assert set(t["layer"]) == set(range(1, h.config.depth + 1))
    assert str(t["unit"].dtype) == "Int64"


def row(t, step, network, layer, unit):
    sel = (t["step"] == step) & (t["network"] == network) & (t["layer"] == layer)
    sel &= t["unit"].isna() if unit is None else (t["unit"] == unit).fillna(False)
    (i,) = np.flatnonzero(sel.to_numpy())
    return t.iloc[i]


def test_values_are_the_records(recorded):
    h, t = recorded
    labels = {"none": "without BN", "before": "BN before activation"}
    units = min(h.config.width, UNITS_RECORDED)
    for frame in h.frames:
        for net, snap in frame.items():
            for l, rec in enumerate(snap.layers):
                whole = row(t, snap.step, labels[net], l + 1, None)
                for name in ("p15", "p50", "p85", "mean", "std", "saturation"):
                    assert whole[name] == getattr(rec, name), name
                assert whole["weight_grad_norm"] == rec.grad_norm
                assert whole["test_accuracy"] == snap.test_acc
                assert whole["train_loss"] == snap.loss or (math.isnan(snap.loss)
                                                            and math.isnan(whole["train_loss"]))
                assert whole["diverged"] == (snap.divergence is not None)
                for j in range(units):
                    one = row(t, snap.step, labels[net], l + 1, j + 1)
                    assert one["p15"] == rec.unit_percentiles[0, j]
                    assert one["p50"] == rec.unit_percentiles[1, j]
                    assert one["p85"] == rec.unit_percentiles[2, j]
                    assert one["mean"] == rec.unit_mean[j] and one["std"] == rec.unit_std[j]
                    for name in ("train_loss", "test_accuracy", "saturation", "weight_grad_norm"):
                        assert pd.isna(one[name]), name


def test_unit_3_of_layer_1(recorded):
    h, t = recorded
    rec = h.frames[1]["none"].layers[0]
    one = row(t, 10, "without BN", 1, 3)
    assert one["p50"] == rec.unit_percentiles[1, 2] and one["p85"] == rec.unit_percentiles[2, 2]


def test_the_divergence_is_marked(recorded):
    h, t = recorded
    whole = t[t["unit"].isna()]
    diverged = whole[whole["diverged"].astype(bool)]
    assert set(diverged["network"]) == {"BN before activation"} and set(diverged["step"]) == {20}
    assert diverged["train_loss"].isna().all()


def test_csv_round_trips_through_pandas(recorded):
    _, t = recorded
    text = t.to_csv(index=False)
    assert text.splitlines()[0] == ",".join(export.COLUMNS)
    back = pd.read_csv(io.StringIO(text))
    assert list(back.columns) == export.COLUMNS and len(back) == len(t)
    pd.testing.assert_series_equal(back["unit"].isna(), t["unit"].isna())
    np.testing.assert_array_equal(back["unit"].dropna().to_numpy(),
                                  t["unit"].dropna().to_numpy(dtype=float))
    for name in ("step", "layer"):
        np.testing.assert_array_equal(back[name], t[name])
    assert (back["network"] == t["network"]).all()
    for name in ("p15", "p50", "p85", "mean", "std", "train_loss", "test_accuracy", "saturation",
                 "weight_grad_norm"):
        np.testing.assert_array_equal(back[name].to_numpy(float), t[name].to_numpy(float),
                                      err_msg=name)
    whole = t["unit"].isna().to_numpy()
    np.testing.assert_array_equal(back["diverged"][whole].astype(bool),
                                  t["diverged"][whole].astype(bool))
    assert back["diverged"][~whole].isna().all()


# ----------------------------------------------------------------------------- HTML

@pytest.fixture(scope="module")
def short_run():
    run = Run(TrainConfig(depth=2, width=8, steps=30, record_every=10))
    for _ in run.stream():
        pass
    return run


def titles(fig) -> list[str]:
    """The figure's title and subplot titles."""
    out = [fig.layout.title.text] if fig.layout.title.text else []
    return out + [a.text for a in fig.layout.annotations if a.text]


def test_export_html_is_standalone(short_run):
    h = short_run.history
    heads = views.sections(h.config.activation, 1, 0)
    figs = {heads[v][0]: views.view_figure(v, h, 1, 0, True, animate=True) for v in views.VIEWS}
    notes = ["Settings: lr = 0.5 & depth = 2", "<b>not bold</b>"]
    text = export.export_html(figs, "BatchNorm Lab <test>", notes)

    assert text.startswith("<!DOCTYPE html>") and text.endswith("</body></html>")
    assert "<title>BatchNorm Lab &lt;test&gt;</title>" in text
    assert "<h1>BatchNorm Lab &lt;test&gt;</h1>" in text
    assert "<p>Settings: lr = 0.5 &amp; depth = 2</p>" in text
    assert "<p>&lt;b&gt;not bold&lt;/b&gt;</p>" in text and "<b>not bold</b>" not in text
    assert text.count(get_plotlyjs()) == 1                   # plotly.js inline, exactly once
    assert "<script src=" not in text and "cdn.plot.ly" not in text.replace(get_plotlyjs(), "")
    assert text.count('class="plotly-graph-div"') == len(figs)
    for name, fig in figs.items():
        assert f"<h2>{html.escape(name)}</h2>" in text
        for title in titles(fig):
            assert to_json_plotly(title)[1:-1] in text, title       # as plotly writes it
    assert sum(len(titles(f)) for f in figs.values()) >= len(figs)   # titles were checked


def test_export_html_without_figures():
    text = export.export_html({}, "Nothing", [])
    assert "<h1>Nothing</h1>" in text and "plotly" not in text.lower()


def test_report_html_holds_every_view_and_the_reading():
    from bn_core.lab.export import report_html
    from bn_core.lab.reading import read_history
    from bn_core.lab.views import VIEWS, sections
    from bn_core.trainer import Run, TrainConfig

    run = Run(TrainConfig(depth=2, width=8, steps=40, record_every=10))
    list(run.stream())
    text = report_html(run.history, 1, 0, True, "/lab?depth=2")
    for view in VIEWS:
        assert f"<h2>{sections('sigmoid', 1, 0)[view][0].split(' · ', 1)[1]}</h2>" in text
    first = read_history(run.history, 1).lines[0].replace("**", "")
    assert first.split(":")[0] in text and "Link: /lab?depth=2" in text
    assert text.count("plotly.js v") == 1
