"""The lab's figures where a network broke, and their axes' legibility (QA of the lab, items A
and C): a network that diverged at step 0 keeps its name in every legend and its marker's label
stays on the chart; gradient ticks as powers of 10; upright, sparse step ticks in narrow panels."""

import math

import numpy as np
import pytest

from bn_core.lab import figures as F
from bn_core.lab.compare import compare_figure
from bn_core.records import Divergence, History, LayerRecord, Snapshot
from bn_core.trainer import Run, TrainConfig

STEP0 = TrainConfig(depth=2, width=8, activation="relu", placement="both", lr=5.0, batch_size=2,
                    eps=0.0, steps=60, record_every=10)


@pytest.fixture(scope="module")
def step0():
    run = Run(STEP0)
    list(run.stream())
    assert run.history.divergence["after"].step == 0 and not run.history.snapshots("after")
    return run.history


def _shown(trace) -> bool:
    """Whether plotly draws the trace (and lists it in the legend): it has at least one point."""
    return trace.x is not None and len(trace.x) > 0 and trace.showlegend is not False


def test_a_network_that_diverged_at_step_0_is_named_in_the_curves_legend(step0):
    fig = F.curves_figure(step0)
    legend = [t.name for t in fig.data if _shown(t) and t.mode != "markers+text"]
    assert legend == ["without BN", "BN before activation",
                      "BN after activation (diverged at step 0)"]
    marks = [t for t in fig.data if t.mode == "markers+text" and t.legendgroup == "after"]
    assert len(marks) == 2
    for t in marks:                # at the left edge: its label to the right, inside the plot
        assert t.text[0] == "BN after: diverged" and t.textposition == "middle right"


def test_a_marker_near_the_right_edge_puts_its_label_to_the_left():
    cfg = TrainConfig(depth=1, width=4, steps=100, record_every=10)
    h = History(cfg, ["none", "before"], np.linspace(-4, 4, 9))
    h.frames = [{n: Snapshot(n, s, 1.0, 0.5, []) for n in h.networks if n == "before" or s < 90}
                for s in range(0, 101, 10)]
    h.divergence = {"none": Divergence(90, None, "training loss")}
    for log_x in (True, False):
        marks = [t for t in F.curves_figure(h, log_x=log_x)["data"]
                 if t.mode == "markers+text"]
        assert marks and all(t.textposition == "middle left" for t in marks)


def test_the_compare_legend_names_a_network_that_diverged_at_step_0(step0):
    fig = compare_figure([step0], ["run 1"], layer=1, unit=0)
    acc = [t for t in fig.data if t.xaxis == "x" and _shown(t)]
    assert [t.name for t in acc] == ["run 1, without BN", "run 1, BN before activation",
                                     "run 1, BN after activation (diverged at step 0)"]


def _grad_history(grads):
    cfg = TrainConfig(depth=1, width=4, steps=100, record_every=50)
    h = History(cfg, ["none"], np.linspace(-4, 4, 9))
    units = np.zeros((3, 4), np.float32)
    for step, g in zip((0, 50, 100), grads):
        rec = LayerRecord(0.0, 1.0, 0.0, 0.0, 0.0, np.zeros(8, np.int32), units,
                          np.zeros(4, np.float32), np.ones(4, np.float32),
                          np.zeros((4, 8), np.int16), 0.5, grad_norm=g)
        h.frames.append({"none": Snapshot("none", step, 1.0, 0.5, [rec])})
    return h


def test_gradient_ticks_far_from_1_are_powers_of_10_not_rows_of_zeros():
    fig = F.health_figure(_grad_history([1e-22, 1e-5, 50.0]))
    ticks = fig.layout.yaxis2.ticktext
    assert ticks[0] == "10⁻²²" and all(t.startswith("10") and len(t) <= 5 for t in ticks)
    assert all(math.isclose(v, 10.0 ** k) for v, k in
               zip(fig.layout.yaxis2.tickvals, range(-22, 3, 4)))
    near = F.health_figure(_grad_history([0.002, 0.1, 5.0])).layout.yaxis2.ticktext
    assert list(near) == ["0.001", "0.01", "0.1", "1", "10"]          # short: plain decimals


def test_a_panel_of_a_network_that_diverged_at_step_0_says_why_it_is_empty(step0):
    fig = F.health_figure(step0)
    notes = [a.text for a in fig.layout.annotations if "nothing to draw" in a.text]
    assert notes == ["diverged at step 0:<br>nothing to draw"]


@pytest.mark.parametrize("log_x", [True, False])
def test_many_narrow_shift_panels_get_few_upright_step_ticks(log_x):
    cfg = TrainConfig(depth=8, width=4, steps=1500, record_every=500)
    h = History(cfg, ["none"], np.linspace(-4, 4, 9))
    fig = F.shift_figure(h, log_x=log_x)
    for l in range(1, 9):
        axis = fig.layout[f"xaxis{'' if l == 1 else l}"]
        assert axis.tickangle == 0
        if log_x:
            assert list(axis.ticktext) == ["0", "10", "1k"]
        else:
            assert axis.nticks == 3
    wide = F.shift_figure(History(cfg.replace(depth=3), ["none"]), log_x=True)
    assert list(wide.layout.xaxis.ticktext) == ["0", "1", "10", "100", "1,000"]    # room: all


@pytest.fixture(scope="module")
def blown_up():
    """The QA's runs, smaller: lr 0.5, then BN after the activation at lr 10, which diverges
    after its layer-3 inputs grow about 1,000-fold (to 7e11 at width 100)."""
    runs = []
    for lr, placement in ((0.5, "before"), (10.0, "after")):
        run = Run(TrainConfig(placement=placement, lr=lr, width=16, steps=40, record_every=1))
        list(run.stream())
        runs.append(run.history)
    assert "after" in runs[1].divergence and not runs[0].divergence
    assert runs[1].divergence["after"].step > 0
    return runs


def _values(snaps, unit=0, layer=2):
    return np.array([s.layers[layer].unit_percentiles[:, unit] for s in snaps], dtype=float)


def test_a_run_that_blew_up_does_not_flatten_the_others_in_compare(blown_up):
    fig = compare_figure(blown_up, ["lr 0.5", "BN after, lr 10"], layer=2, unit=0)
    exploded = _values(blown_up[1].snapshots("after"))
    sane = np.concatenate([_values(h.snapshots(n)).ravel() for h in blown_up
                           for n in h.networks if n not in h.divergence])
    assert np.nanmax(np.abs(exploded)) > 100 * np.abs(sane).max()   # it blew up before NaN
    lo, hi = fig.layout.yaxis2.range
    assert lo <= sane.min() and sane.max() <= hi                  # every sane run is on the chart
    assert hi - lo < 3 * (sane.max() - sane.min())                # … and fills it
    assert fig.layout.yaxis2.exponentformat == "power"            # never "600B"
    note = [a.text for a in fig.layout.annotations if a.xref == "x2 domain"]
    assert len(note) == 1 and note[0].startswith(
        "BN after, lr 10, BN after activation<br>diverged at step ")
    farthest = exploded.flat[np.nanargmax(np.abs(exploded))]      # how far it went, in the note
    assert f"{farthest:.3g}" in note[0].split("off the chart (to ")[1]


def test_compare_without_a_divergence_has_no_cut_note_and_fits_every_band(blown_up):
    fig = compare_figure(blown_up[:1], ["lr 0.5"], layer=2, unit=0)
    sane = np.concatenate([_values(s).ravel() for s in map(blown_up[0].snapshots, blown_up[0].networks)])
    lo, hi = fig.layout.yaxis2.range
    assert lo <= sane.min() and sane.max() <= hi
    assert not [a for a in fig.layout.annotations if a.xref == "x2 domain"]
