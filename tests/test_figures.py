"""The lab's plotly figures (bn_core.figures): they draw exactly what the History holds, on axes
fixed over the run, in one colour per network, small enough to send live."""

import json
import math

import numpy as np
import plotly.graph_objects as go
import pytest

from bn_core import figures as F
from bn_core.train import (
    PAPER_SETUP, Divergence, History, LayerRecord, Run, Snapshot, TrainConfig,
)

SMALL = TrainConfig(depth=2, width=8, steps=60, record_every=10, batch_size=16, placement="both")


@pytest.fixture(scope="module")
def run():
    r = Run(SMALL)
    list(r.stream())
    return r


def traces_named(fig, name):
    return [t for t in fig.data if t.name == name]


def synthetic_paper_history(n_frames=1001, seed=0):
    """A History shaped like the paper run (3×100, two networks, 40 bins, 1,001 snapshots)."""
    cfg = PAPER_SETUP
    rng = np.random.default_rng(seed)
    nets = ["none", "before"]
    edges = [np.linspace(-6, 6, cfg.bins + 1) for _ in range(cfg.depth)]
    h = History(cfg, nets, edges)
    for i in range(n_frames):
        frame = {}
        for net in nets:
            layers = [LayerRecord(0.0, 1.0, -1.0, 0.0, 1.0,
                                  rng.normal(size=(3, 16)).astype(np.float32), 0.1,
                                  rng.integers(0, 300, size=cfg.bins).astype(np.int32), 0.5)
                      for _ in range(cfg.depth)]
            frame[net] = Snapshot(net, 50 * i, 1.0, 0.5, layers)
        h.frames.append(frame)
    return h


# ----------------------------------------------------------------------------- schedule

def test_record_every_gives_about_150_snapshots_and_caps_big_runs():
    assert F.record_every_for(TrainConfig()) == 10                        # 1,500 steps → 151
    assert F.record_every_for(PAPER_SETUP) == 50                          # 50,000 → 1,001
    assert F.record_every_for(TrainConfig(steps=1)) == 1
    for steps in (300, 1500, 7000):
        n = steps // F.record_every_for(TrainConfig(steps=steps)) + 1
        assert 100 <= n <= 200
    big = TrainConfig(width=256, depth=8, batch_size=512, placement="both", steps=50_000)
    assert F.record_every_for(big) == 1                                   # a step is already big
    assert F.record_every_for(big.replace(batch_size=60)) < F.record_every_for(big.replace(width=32))


def test_thin_indices_keeps_first_last_and_spacing():
    assert F.thin_indices(5, 10) == [0, 1, 2, 3, 4]
    idx = F.thin_indices(1001, 200)
    assert idx[0] == 0 and idx[-1] == 1000 and len(idx) <= 200
    gaps = np.diff(idx)
    assert gaps.min() >= 4 and gaps.max() <= 6
    with pytest.raises(ValueError, match="most"):
        F.thin_indices(10, 1)


def test_update_pacer_bounds_the_drawing_share():
    now = [0.0]
    pacer = F.UpdatePacer(interval=0.5, share=0.2, clock=lambda: now[0])
    starts = []
    while now[0] < 60:
        if pacer.due():
            starts.append(now[0])
            now[0] += 0.3                      # a slow draw: 0.3 s
            pacer.drawn(0.3)
        now[0] += 0.01                         # training
    gaps = np.diff(starts)
    assert gaps.min() >= 0.3 / 0.2 - 1e-9      # start-to-start ≥ d / share
    assert pacer.draw_seconds / 60 <= 0.2 + 0.01
    fast = F.UpdatePacer(interval=0.5, share=0.2, clock=lambda: now[0])
    t0 = now[0]
    fast.drawn(0.01)
    now[0] = t0 + 0.45
    assert not fast.due()
    now[0] = t0 + 0.5
    assert fast.due()


# ----------------------------------------------------------------------------- figures

def test_curves_show_the_recorded_loss_and_accuracy_on_fixed_axes(run):
    fig = F.curves_figure(run.history)
    for net in run.networks:
        loss_tr, acc_tr = traces_named(fig, F.network_label(net))[:2]
        steps, loss = run.history.series(net, lambda s: s.loss)
        _, acc = run.history.series(net, lambda s: s.test_acc)
        np.testing.assert_array_equal(loss_tr.x, steps)
        np.testing.assert_allclose(np.asarray(loss_tr.y, float), loss, rtol=1e-6)
        np.testing.assert_allclose(np.asarray(acc_tr.y, float), acc, rtol=1e-6)
        assert loss_tr.line.color == acc_tr.line.color == F.COLORS[net]
    assert list(fig.layout.xaxis.range) == [0, SMALL.steps]
    assert list(fig.layout.yaxis2.range) == [0, 1.02]
    early = History(run.history.config, run.history.networks, run.history.edges,
                    run.history.frames[:2])
    assert list(F.curves_figure(early).layout.xaxis.range) == [0, SMALL.steps]   # from the start


def test_bands_draw_the_unit_and_layer_percentiles(run):
    h = run.history
    fig = F.bands_figure(h, layer=1, unit=3)
    medians = traces_named(fig, "median (50th)")
    assert [t.line.color for t in medians] == [F.COLORS[n] for n in h.networks]
    for net, tr in zip(h.networks, medians):
        expected = [f[net].layers[1].unit_percentiles[1, 3] for f in h.frames if net in f]
        np.testing.assert_allclose(np.asarray(tr.y, float), expected, rtol=1e-6)
    whole = F.bands_figure(h, layer=0, unit=None)
    p15 = traces_named(whole, "15th–85th percentile")[0]
    np.testing.assert_allclose(np.asarray(p15.y, float),
                               [f["none"].layers[0].p15 for f in h.frames], rtol=1e-6)
    lo, hi = whole.layout.yaxis.range
    assert lo <= h.edges[0][0] and hi >= h.edges[0][-1]                 # at least the fixed edges
    with pytest.raises(ValueError, match="unit: expected 0 to 7"):
        F.bands_figure(h, layer=0, unit=8)
    with pytest.raises(ValueError, match="layer: expected 0 to 1"):
        F.bands_figure(h, layer=2, unit=0)


def test_histograms_are_percentages_of_the_recorded_counts(run):
    h = run.history
    fig = F.histogram_figure(h)
    K = len(h.networks)
    assert len(fig.data) == SMALL.depth * K and not fig.frames
    for i, tr in enumerate(fig.data):
        l, net = divmod(i, K)
        counts = h.frames[-1][h.networks[net]].layers[l].hist
        np.testing.assert_allclose(np.asarray(tr.y, float), 100 * counts / counts.sum(), rtol=1e-5)
        assert tr.marker.color == F.COLORS[h.networks[net]]
        centres = (h.edges[l][:-1] + h.edges[l][1:]) / 2
        np.testing.assert_allclose(np.asarray(tr.x, float), centres, rtol=1e-6)


def test_animation_has_a_frame_per_kept_snapshot_and_controls(run):
    h = run.history
    fig = F.histogram_figure(h, animate=True, max_frames=4)
    keep = F.thin_indices(len(h.frames), 4)
    steps = [h.frames[i]["none"].step for i in keep]
    assert [f.name for f in fig.frames] == [str(s) for s in steps]
    assert [s.label for s in fig.layout.sliders[0].steps] == [f"{s:,}" for s in steps]
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["▶ Play", "❚❚ Pause"]
    last = fig.frames[-1].data
    counts = h.frames[-1]["after"].layers[1].hist
    np.testing.assert_allclose(np.asarray(last[1 * 3 + 2].y, float), 100 * counts / counts.sum(),
                               rtol=1e-5)
    K = len(h.networks)
    for l, axis in enumerate([fig.layout.yaxis, fig.layout[f"yaxis{K + 1}"]]):
        peak = max(100 * float(f[n].layers[l].hist.max()) / float(f[n].layers[l].hist.sum())
                   for f in h.frames for n in h.networks)            # every snapshot, thinned or not
        assert peak <= axis.range[1] <= 1.1 * peak                          # fixed over frames
    assert fig.layout.sliders[0].active == len(fig.frames) - 1             # opens at the end
    assert list(fig.layout.updatemenus[0].buttons[0].args[0]) == [f.name for f in fig.frames]
    live = F.histogram_figure(History(h.config, h.networks, h.edges, h.frames[:2]))
    assert live.layout.yaxis.range[1] <= fig.layout.yaxis.range[1]


def test_a_diverged_network_stops_and_is_marked():
    cfg = TrainConfig(activation="relu", placement="after", eps=0.0, lr=1.0, depth=2, width=12,
                      batch_size=16, steps=100, record_every=10)
    r = Run(cfg)
    list(r.stream())
    div = r.history.divergence["after"]
    fig = F.bands_figure(r.history, layer=1, unit=None)
    after = traces_named(fig, "median (50th)")[1]
    assert max(after.x) < div.step
    assert any(f"diverged at step {div.step:,}" in a.text for a in fig.layout.annotations)
    curves = F.curves_figure(r.history)
    marks = [t for t in curves.data if t.mode == "markers+text"]
    assert marks and all(t.x[0] == div.step for t in marks)
    anim = F.histogram_figure(r.history, animate=True)
    assert all(float(np.sum(np.asarray(fr.data[1].y, float))) == 0 for fr in anim.frames
               if int(fr.name) > div.step)                             # no bars after it stopped


def test_health_has_a_line_per_layer_and_network(run):
    fig = F.health_figure(run.history)
    drawn = [t for t in fig.data if t.x is not None and len(t.x) and t.x[0] is not None]
    assert len(drawn) == 2 * SMALL.depth * len(run.networks)
    sat = [t for t in drawn if t.yaxis == "y"]
    np.testing.assert_allclose(np.asarray(sat[0].y, float),
                               [100 * f["none"].layers[0].saturation for f in run.history.frames],
                               rtol=1e-5)
    assert list(fig.layout.yaxis.range) == [0, 100]
    assert fig.layout.yaxis4.type == "log"


def test_live_figure_json_stays_small():
    r = Run(TrainConfig(placement="both", record_every=F.record_every_for(TrainConfig())))
    list(r.stream())
    sizes = {k: len(f.to_json()) for k, f in F.live_figures(r.history, 2, 0).items()}
    assert max(sizes.values()) <= 300_000, sizes


def test_paper_run_animation_is_thinned_below_5_mb():
    h = synthetic_paper_history()
    fig = F.histogram_figure(h, animate=True)
    assert len(fig.frames) <= F.MAX_ANIMATION_FRAMES
    assert fig.frames[-1].name == "50000"
    assert len(fig.to_json()) <= 5_000_000


def test_export_html_is_standalone_with_every_figure(run):
    figs = {"Curves": F.curves_figure(run.history), "Hist <1>": F.histogram_figure(run.history)}
    html = F.export_html(figs, "Lab & run", ["lr = 0.5 <b>"])
    assert html.count("<h2>") == 2 and "Hist &lt;1&gt;" in html and "Lab &amp; run" in html
    assert "lr = 0.5 &lt;b&gt;" in html
    assert html.count("plotly.js v") == 1 and 'src="http' not in html        # inline, once


def test_figures_serialise_without_nan_strings(run):
    for fig in F.live_figures(run.history, 0, 0).values():
        assert isinstance(fig, go.Figure)
        text = fig.to_json()
        json.loads(text)
        assert "NaN" not in text and "Infinity" not in text
    assert not math.isnan(F.curves_figure(run.history).layout.yaxis.range[1])
