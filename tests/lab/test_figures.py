"""The lab's plotly figures (bn_core.lab.figures, .histograms, .views): they draw exactly what the
History holds, on axes fixed over the run, in one colour per network, small enough to send live."""

import json
import math
import statistics

import numpy as np
import plotly.graph_objects as go
import pytest

from bn_core.lab import figures as F
from bn_core.lab import histograms as H
from bn_core.lab import views as V
from bn_core.lab.measures import shift_rates
from bn_core.lab.presets import PAPER_SETUP, record_every_for
from bn_core.records import History, network_label
from bn_core.style import COLORS
from bn_core.trainer import Run, TrainConfig

SMALL = TrainConfig(depth=2, width=8, steps=60, record_every=10, batch_size=16, placement="both")


@pytest.fixture(scope="module")
def run():
    r = Run(SMALL)
    list(r.stream())
    return r


def traces_named(fig, name):
    return [t for t in fig.data if t.name == name]


def y(trace) -> np.ndarray:
    return np.asarray(trace.y, dtype=float)


# ----------------------------------------------------------------------------- schedule

def test_record_every_gives_about_50_snapshots_and_caps_big_runs():
    assert record_every_for(TrainConfig()) == 30                             # 1,500 steps
    assert record_every_for(PAPER_SETUP) == 100                              # 50,000 steps
    assert record_every_for(TrainConfig(steps=1)) == 1
    assert record_every_for(TrainConfig(steps=10_000)) == 50                # at most 50 apart
    assert record_every_for(TrainConfig(steps=5_000)) == 50
    for steps in (300, 1500, 2500):
        assert 40 <= steps // record_every_for(TrainConfig(steps=steps)) <= 60
    big = TrainConfig(width=256, depth=8, batch_size=512, placement="both", steps=5_000)
    assert record_every_for(big) == 10                # a step is big, but ≤ 500 snapshots
    assert record_every_for(big.replace(steps=500)) == 1
    assert record_every_for(big.replace(batch_size=60)) < record_every_for(big.replace(width=32))
    for steps in (1, 999, 50_000, 100_000):          # bounded memory whatever the settings
        assert steps / record_every_for(big.replace(steps=steps)) <= 500


def test_animation_keeps_the_early_snapshots_and_ends_at_the_last(run):
    h = run.history
    assert H.animation_frames(h, 100) == list(range(len(h.frames)))
    keep = H.animation_frames(h, 6)
    assert keep[0] == 0 and keep[-1] == len(h.frames) - 1 and len(keep) <= 6
    with pytest.raises(ValueError, match="most"):
        H.animation_frames(h, 1)


def test_update_pacer_bounds_the_drawing_share():
    now = [0.0]
    pacer = V.UpdatePacer(interval=0.5, share=0.2, clock=lambda: now[0])
    starts = []
    while now[0] < 60:
        if pacer.due():
            starts.append(now[0])
            now[0] += 0.3                      # a slow draw: 0.3 s
            pacer.drawn(0.3)
        now[0] += 0.01                         # training
    assert np.diff(starts).min() >= 0.3 / 0.2 - 1e-9       # start-to-start ≥ d / share
    assert pacer.draw_seconds / 60 <= 0.2 + 0.01


# ----------------------------------------------------------------------------- time axis

def test_log_time_axis_puts_step_zero_at_the_left_edge():
    assert list(F.x_of([0, 1, 10], log_x=True)) == [F.ZERO_AT, 1, 10]
    assert list(F.x_of([0, 1, 10], log_x=False)) == [0, 1, 10]
    axis = F.step_axis(50_000, log_x=True)
    assert axis["type"] == "log" and axis["ticktext"][:3] == ["0", "1", "10"]
    assert axis["ticktext"][-1] == "10,000" and axis["range"][1] == pytest.approx(math.log10(5e4) + 0.02)
    assert F.step_axis(300, log_x=False)["range"] == [0, 300]


# ----------------------------------------------------------------------------- figures

@pytest.mark.parametrize("log_x", [True, False])
def test_curves_show_the_recorded_loss_and_accuracy_on_fixed_axes(run, log_x):
    fig = F.curves_figure(run.history, log_x)
    for net in run.networks:
        loss_tr, acc_tr = traces_named(fig, network_label(net))[:2]
        snaps = run.history.snapshots(net)
        np.testing.assert_array_equal(loss_tr.customdata, [s.step for s in snaps])
        np.testing.assert_array_equal(loss_tr.x, F.x_of([s.step for s in snaps], log_x))
        np.testing.assert_allclose(y(loss_tr), [s.loss for s in snaps], rtol=1e-6)
        np.testing.assert_allclose(y(acc_tr), [s.test_acc for s in snaps], rtol=1e-6)
        assert loss_tr.line.color == acc_tr.line.color == COLORS[net]
    assert fig.layout.xaxis.type == ("log" if log_x else "linear")
    assert list(fig.layout.yaxis2.range) == [0, 1.02]
    early = History(run.history.config, run.history.networks, run.history.edges,
                    run.history.frames[:2])
    assert list(F.curves_figure(early, log_x).layout.xaxis.range) == \
        list(fig.layout.xaxis.range)                                         # from the start


def test_bands_draw_the_unit_and_layer_percentiles_and_the_noise_floor(run):
    h = run.history
    fig = F.bands_figure(h, layer=1, unit=3)
    medians = traces_named(fig, "median (50th)")
    assert [t.line.color for t in medians] == [COLORS[n] for n in h.networks]
    for net, tr in zip(h.networks, medians):
        np.testing.assert_allclose(y(tr), [s.layers[1].unit_percentiles[1, 3]
                                           for s in h.snapshots(net)], rtol=1e-6)
    noise = [t for t in fig.data if t.legendgroup == "noise"]
    assert len(noise) == 2 * len(h.networks)                   # median ± jitter, per network
    p50 = np.array([s.layers[1].unit_percentiles[1, 3] for s in h.snapshots("none")], float)
    jitter = np.full(len(p50), np.nan)                  # median |Δ p50| over the last 10 pairs
    for t in range(3, len(p50)):
        jitter[t] = statistics.median(abs(p50[i + 1] - p50[i]) for i in range(max(0, t - 10), t))
    np.testing.assert_allclose(y(noise[0]), p50 + jitter, rtol=1e-6)
    np.testing.assert_allclose(y(noise[1]), p50 - jitter, rtol=1e-6)
    assert "two halves" not in noise[0].name
    whole = F.bands_figure(h, layer=0, unit=None)
    assert not [t for t in whole.data if t.legendgroup == "noise"]
    p15 = traces_named(whole, "15th–85th percentile")[0]
    np.testing.assert_allclose(y(p15), [s.layers[0].p15 for s in h.snapshots("none")], rtol=1e-6)
    lo, hi = whole.layout.yaxis.range
    assert lo <= h.edges[0] and hi >= h.edges[-1]                       # at least the fixed edges
    with pytest.raises(ValueError, match="unit: expected 0 to 7"):
        F.bands_figure(h, layer=0, unit=8)
    with pytest.raises(ValueError, match="layer: expected 0 to 1"):
        F.bands_figure(h, layer=2, unit=0)


def test_a_band_that_leaves_the_capped_axis_says_how_far_it_goes(run):
    # lr 10 with batches of 2: without BN the last layer's inputs run to about -500 within a
    # few steps; the shared axis is capped so that the BN panel stays readable
    r = Run(TrainConfig(lr=10.0, batch_size=2, eps=0.0, steps=40, record_every=5))
    list(r.stream())
    fig = F.bands_figure(r.history, layer=2, unit=0)
    lo, hi = fig.layout.yaxis.range
    notes = {a.xref: a.text for a in fig.layout.annotations if "off the chart" in a.text}
    for c, net in enumerate(r.history.networks):
        p15 = [s.layers[2].unit_percentiles[0, 0] for s in r.history.snapshots(net)]
        p85 = [s.layers[2].unit_percentiles[2, 0] for s in r.history.snapshots(net)]
        xref = f"x{c + 1 if c else ''} domain"
        if min(p15) < lo:
            assert f"{min(p15):.3g}" in notes[xref]
        elif max(p85) > hi:
            assert f"{max(p85):.3g}" in notes[xref]
        else:
            assert xref not in notes
    assert notes, "this setup is chosen because a band leaves the chart"
    assert not [a for a in F.bands_figure(run.history, 0, 0).layout.annotations
                if "off the chart" in (a.text or "")]


def test_shift_figure_draws_the_shift_rates_per_layer_and_network(run):
    h = run.history
    fig = F.shift_figure(h)
    assert len(fig.data) == SMALL.depth * len(h.networks)
    for i, tr in enumerate(fig.data):
        l, k = divmod(i, len(h.networks))
        steps, rates = shift_rates(h, h.networks[k], l)
        np.testing.assert_array_equal(tr.customdata, steps)
        np.testing.assert_allclose(y(tr), np.where(rates > 0, rates, np.nan), rtol=1e-5)
        assert tr.line.color == COLORS[h.networks[k]]
    assert fig.layout.yaxis.type == "log"


def test_histograms_show_every_layer_pooled_and_for_the_unit(run):
    h = run.history
    fig = H.histogram_figure(h, unit=2)
    K, L = len(h.networks), SMALL.depth
    assert len(fig.data) == 2 * L * 2 * K and not fig.frames    # a cell's bars, then its mark
    for i, tr in enumerate(fig.data[:L * 2 * K]):
        l, c = divmod(i, 2 * K)
        rec = h.frames[-1][h.networks[c % K]].layers[l]
        counts = rec.hist if c < K else rec.unit_hists[2]
        bars = 100 * counts / counts.sum()                 # a step line: a point per bin edge
        np.testing.assert_allclose(y(tr), np.append(bars, bars[-1]), rtol=1e-5)
        np.testing.assert_allclose(np.asarray(tr.x, float), h.edges, rtol=1e-6)   # one x axis
        assert tr.line.shape == "hv" and tr.fill == "tozeroy"
        assert tr.fillcolor == COLORS[h.networks[c % K]]
    titles = [a.text for a in fig.layout.annotations]
    assert titles.count("<b>no BN</b>") == 2 and titles.count("<b>BN after</b>") == 2
    assert "<b>all units of the layer</b>" in titles and "<b>unit 3</b>" in titles


def test_histogram_rows_top_out_at_the_next_5_percent_above_their_highest_bar(run):
    h = run.history
    fig = H.histogram_figure(h, unit=2)
    K = len(h.networks)
    for i, tr in enumerate(fig.data[:SMALL.depth * 2 * K]):
        l, c = divmod(i, 2 * K)
        row = fig.data[l * 2 * K + (c // K) * K: l * 2 * K + (c // K + 1) * K]
        highest = max(float(np.max(y(t))) for t in row)               # this row, this block
        top = fig.layout[f"yaxis{'' if i == 0 else i + 1}"].range[1]
        assert top % 5 == 0 and top >= 1.04 * highest, (i, top, highest)
    assert H.y_top(14.0) == 15 and H.y_top(14.5) == 20 and H.y_top(100) == 105


def test_animation_has_a_frame_per_kept_snapshot_and_unlabelled_ticks(run):
    h = run.history
    fig = H.histogram_figure(h, animate=True, max_frames=5)
    keep = H.animation_frames(h, 5)
    steps = [h.frames[i]["none"].step for i in keep]
    assert [f.name for f in fig.frames] == [str(s) for s in steps]
    assert steps[-1] == SMALL.steps and fig.layout.sliders[0].active == len(steps) - 1
    assert fig.layout.sliders[0].font.color == "rgba(0,0,0,0)"        # no misleading tick labels
    assert fig.layout.sliders[0].currentvalue.prefix == "step "
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["▶ Replay", "❚❚ Pause replay"]
    counts = h.frames[-1]["after"].layers[1].hist
    np.testing.assert_allclose(y(fig.frames[-1].data[1 * 6 + 2])[:-1],
                               100 * counts / counts.sum(), rtol=1e-5)


def test_a_diverged_network_stops_and_is_marked_once():
    cfg = TrainConfig(activation="relu", placement="after", eps=0.0, lr=1.0, depth=2, width=12,
                      batch_size=16, steps=100, record_every=10)
    r = Run(cfg)
    list(r.stream())
    div = r.history.divergence["after"]
    fig = F.bands_figure(r.history, layer=1, unit=None, log_x=False)
    after = traces_named(fig, "median (50th)")[1]
    assert max(after.x) < div.step
    assert any(f"diverged at step {div.step:,}" in a.text for a in fig.layout.annotations)
    marks = [t for t in F.curves_figure(r.history, log_x=False).data if t.mode == "markers+text"]
    assert len(marks) == 2 * len(r.history.divergence) and all(t.x[0] == div.step for t in marks)
    anim = H.histogram_figure(r.history, animate=True)
    assert all(float(np.sum(y(fr.data[1]))) == 0 for fr in anim.frames
               if int(fr.name) > div.step)                             # no bars after it stopped


def test_two_diverged_networks_get_labels_at_different_heights():
    cfg = TrainConfig(activation="relu", placement="after", eps=0.0, batch_size=2, lr=10.0,
                      init_scale=1.0, depth=2, width=12, steps=100, record_every=10)
    r = Run(cfg)
    list(r.stream())
    assert len(r.history.divergence) == 2
    marks = [t for t in F.curves_figure(r.history).data if t.mode == "markers+text"]
    heights = {(t.xaxis, t.y[0]) for t in marks}
    assert len(heights) == 4                                   # 2 networks × 2 panels, apart


def test_health_has_a_line_per_layer_and_network_and_a_readable_saturation_axis(run):
    fig = F.health_figure(run.history)
    drawn = [t for t in fig.data if t.x is not None and len(t.x) and t.x[0] is not None]
    assert len(drawn) == 2 * SMALL.depth * len(run.networks)
    sat = [t for t in drawn if t.yaxis == "y"]
    np.testing.assert_allclose(y(sat[0]), [100 * s.layers[0].saturation
                                           for s in run.history.snapshots("none")], rtol=1e-5)
    peak = max(100 * s.layers[l].saturation for n in run.networks
               for s in run.history.snapshots(n) for l in range(SMALL.depth))
    top = fig.layout.yaxis.range[1]
    assert top >= peak and top == max(10.0, min(100.0, 5 * math.ceil(1.15 * peak / 5)))
    assert fig.layout.yaxis4.type == "log"
    grads = fig.layout[f"yaxis{len(run.networks) + 1}"]     # the gradient row, first panel
    ticks = grads.ticktext                                   # in plain decimals
    assert ticks and all("µ" not in t and "e" not in t for t in ticks)
    lo, hi = grads.range
    assert [float(t.replace(",", "")) for t in ticks][0] == pytest.approx(10.0 ** lo)
    assert F.saturation_label("sigmoid") == "saturated (sigmoid g(z) < 0.03 or > 0.97)"


def test_live_figures_stay_small_and_the_schedule_visits_every_view():
    r = Run(TrainConfig(placement="both", record_every=record_every_for(TrainConfig())))
    list(r.stream())
    sizes = {k: len(f.to_json()) for k, f in V.live_figures(r.history, 2, 0).items()}
    assert set(sizes) == set(V.VIEWS) and max(sizes.values()) <= 300_000, sizes
    assert {v for update in V.LIVE_SCHEDULE for v in update} == set(V.VIEWS)
    assert set(V.sections("sigmoid", 2, 0)) == set(V.VIEWS)


def test_figures_serialise_without_nan_strings(run):
    for fig in V.live_figures(run.history, 0, 0).values():
        assert isinstance(fig, go.Figure)
        text = fig.to_json()
        json.loads(text)
        assert "NaN" not in text and "Infinity" not in text
    with pytest.raises(ValueError, match="name: expected one of"):
        V.view_figure("pie", run.history, 0, 0)


# ----------------------------------------------------------------------------- the first screen

def test_the_layer_histogram_shows_the_unit_over_the_layer_one_row_per_network(run):
    h = run.history
    fig = H.layer_histogram_figure(h, layer=1, unit=3)
    K = len(h.networks)
    assert len(fig.data) == 2 * K and not fig.frames
    for r, net in enumerate(h.networks):
        rec = h.frames[-1][net].layers[1]
        unit_tr, layer_tr = fig.data[2 * r], fig.data[2 * r + 1]
        for tr, counts in ((unit_tr, rec.unit_hists[3]), (layer_tr, rec.hist)):
            bars = 100 * counts / counts.sum()
            np.testing.assert_allclose(y(tr), np.append(bars, bars[-1]), rtol=1e-5)
            assert tr.xaxis == f"x{r + 1 if r else ''}"                  # row r
        assert unit_tr.fillcolor == COLORS[net] and layer_tr.fill is None
        top = fig.layout[f"yaxis{r + 1 if r else ''}"].range[1]
        assert max(y(unit_tr).max(), y(layer_tr).max()) <= top           # no bar is cut
    labels = [a.text for a in fig.layout.annotations]
    assert [f"<b>{network_label(n)}</b>" for n in h.networks] == labels


def test_the_layer_histogram_never_cuts_a_bar_in_any_frame():
    """The newcomer's case: an untrained sigmoid unit puts ~99 % of its values in one bin; the
    row's axis must show that bar whole in the frame where it happens (and later, smaller bars
    get a smaller axis again)."""
    r = Run(TrainConfig(steps=200, depth=3, width=16, record_every=20))
    list(r.stream())
    fig = H.layer_histogram_figure(r.history, layer=2, unit=0, animate=True)
    tallest = [max(float(np.max(y(d))) for d in f.data[:2]) for f in fig.frames]
    assert max(tallest) > 50, "this setup is chosen because one bin holds most values"
    for f, peak in zip(fig.frames, tallest):
        top = f.layout.yaxis.range[1]
        assert peak <= top and top in H.LADDER, (f.name, peak, top)
    assert [b.label for b in fig.layout.updatemenus[0].buttons] == ["▶ Replay", "❚❚ Pause replay"]


def test_the_every_layer_histogram_marks_a_bar_it_cuts_with_its_height():
    r = Run(TrainConfig(steps=200, depth=3, width=16, record_every=20))
    list(r.stream())
    fig = H.histogram_figure(r.history, unit=0, animate=True)
    cells = r.history.config.depth * 2 * len(r.history.networks)
    first = fig.frames[0]                                       # step 0: the tall early bars
    cut = 0
    for i in range(cells):
        bars, mark = y(first.data[i])[:-1], first.data[cells + i]
        top = fig.layout[f"yaxis{i + 1 if i else ''}"].range[1]
        if bars.max() > top:
            cut += 1
            assert mark.text[0] == f"↑ {bars.max():.0f}%" and mark.y[0] < top
        else:
            assert mark.x[0] is None and mark.text[0] == ""
    assert cut > 0, "this setup is chosen because a bar is cut at step 0"


def test_inner_ticks_are_round_and_clear_of_both_ends():
    assert H.inner_ticks(-5, 5) == [-4, -2, 0, 2, 4]
    for lo, hi in ((-5, 5), (-12.3, 12.3), (-0.7, 0.7), (-150, 150), (0, 1)):
        ticks = H.inner_ticks(lo, hi)
        assert 2 <= len(ticks) <= 6, (lo, hi, ticks)
        assert all(lo + 0.08 * (hi - lo) - 1e-9 <= t <= hi - 0.08 * (hi - lo) + 1e-9
                   for t in ticks)
    assert H.inner_ticks(1, 1) == []


def test_the_stacked_bands_have_a_row_per_network_on_one_y_range(run):
    h = run.history
    fig = F.bands_figure(h, 1, 0, stacked=True, height=400)
    K = len(h.networks)
    assert fig.layout.height == 400
    assert {t.yaxis for t in fig.data} == {f"y{r + 1 if r else ''}" for r in range(K)}
    ranges = {tuple(fig.layout[f"yaxis{r + 1 if r else ''}"].range) for r in range(K)}
    assert len(ranges) == 1                                    # comparable rows
    side = F.bands_figure(h, 1, 0)
    assert len(side.data) == len(fig.data)
    for a, b in zip(side.data, fig.data):                      # the same data, arranged anew
        np.testing.assert_array_equal(y(a), y(b))


def test_watchable_speed_spreads_a_short_run_and_leaves_a_long_one_alone():
    assert V.watch_interval(120) == pytest.approx(V.WATCH_SECONDS / 120)
    assert V.watch_interval(10) == V.WATCH_MOST                  # a tiny run does not crawl
    default = SMALL.replace(steps=1500, placement="before", depth=3, width=16, batch_size=32)
    n = len(Run(default.replace(record_every=record_every_for(default))).schedule)
    assert 10 <= n * V.watch_interval(n) <= 15                  # the default run: ~12 s
    with pytest.raises(ValueError, match="snapshots"):
        V.watch_interval(0)
    assert V.watch_interval(100, seconds=0) == 0


def test_time_left_counts_the_watchable_waits_still_to_come_and_the_work():
    schedule, s = np.array([0, 1, 2, 3, 4, 5, 10, 20, 30]), V.SNAPSHOT_STEPS
    # fast work, watchable pace 0.2 s: the 5 gaps after step 3 each take 0.2 s
    assert V.seconds_left(schedule, 3, rate=1000.0, pace=0.2) == pytest.approx(5 * 0.2)
    # slow work: a gap is its steps and a snapshot, (gap + s) / rate, where that beats the pace
    rate = 40.0
    expected = sum(max((gap + s) / rate, 0.2) for gap in (1, 1, 5, 10, 10))
    assert V.seconds_left(schedule, 3, rate=rate, pace=0.2) == pytest.approx(expected)
    assert expected > 5 * 0.2
    assert V.seconds_left(schedule, 30, rate=20.0, pace=0.2) == 0         # at the end
    assert V.seconds_left(schedule, 12, rate=10.0) == pytest.approx((8 + s + 10 + s) / 10)
    with pytest.raises(ValueError, match="rate"):
        V.seconds_left(schedule, 2, rate=0.0)


def test_the_estimate_before_a_run_is_for_the_speed_chosen():
    """The default run computes in ~1 s but the watchable speed spreads it over ~12 s: the page
    said 'about 1 s at full speed' while the run it started took 12 s."""
    n = 70
    pace = V.watch_interval(n)
    assert V.start_estimate(1.2, n, pace) == " · about 12 s at the watchable speed (1 s at full speed)"
    assert V.start_estimate(45.0, n, pace) == " · about 45 s"      # slower than the pace: as it is
    assert V.start_estimate(1.2, n, 0) == " · about 1 s at full speed"


def test_the_run_clock_reads_the_default_run_early_as_the_twelve_seconds_it_takes():
    """Early in the default watchable run every step is a snapshot and a pace is waited after
    each: steps so far per second said "about 181 s left" at step 2, ten times too long."""
    default = SMALL.replace(steps=1500, placement="before", depth=3, width=16, batch_size=32)
    run = Run(default.replace(record_every=record_every_for(default)))
    pace, now, unit = V.watch_interval(len(run.schedule)), [0.0], 0.0005   # s per unit of work
    clock = V.RunClock(run, pace, V.UpdatePacer(clock=lambda: now[0]), clock=lambda: now[0],
                       sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert clock.reading() == (None, None)
    for k in range(1, 4):                # steps 0, 1, 2: a step and a snapshot each, then the
        run.advance()                    # rest of the pace waited
        now[0] += unit * (1 + V.SNAPSHOT_STEPS)
        clock.wait_until(k * pace)
    rate, left = clock.reading()
    assert rate == pytest.approx(2 / (3 * pace))                  # steps so far per second
    assert (1500 - 2) / rate > 10 * left                          # the old estimate
    assert 10 <= left <= 13                                       # the ~12 s still to come


def test_live_figures_of_the_views_in_sight(run):
    """Issue #25: a live update can redraw only the views in sight (LIVE_VIEWS); the same figures."""
    live = V.live_figures(run.history, 0, 0, names=V.LIVE_VIEWS, as_dict=True)
    assert tuple(live) == V.LIVE_VIEWS == ("now", "unit", "curves")
    every = V.live_figures(run.history, 0, 0, as_dict=True)
    assert all(json.dumps(live[k], default=str) == json.dumps(every[k], default=str) for k in live)
    with pytest.raises(ValueError, match="names: expected views"):
        V.live_figures(run.history, 0, 0, names=("now", "pie"))


# ----------------------------------------------------------------------------- compare runs

def test_runs_are_labelled_by_what_differs():
    from bn_core.lab.compare import run_labels

    a, b = TrainConfig(lr=2.0), TrainConfig(lr=0.5, batch_size=2)
    assert run_labels([a, b]) == [f"lr 2, batch {a.batch_size}", "lr 0.5, batch 2"]
    assert run_labels([a, a]) == ["run 1", "run 2"]
    assert run_labels([a.replace(record_every=5), a.replace(record_every=9)]) == ["run 1", "run 2"]


def test_the_compare_figure_overlays_every_run_by_network_and_dash():
    from bn_core.lab.compare import RUN_DASHES, compare_figure

    runs = []
    for lr in (0.5, 10.0):
        r = Run(TrainConfig(lr=lr, steps=60, record_every=10, depth=2, width=8))
        list(r.stream())
        runs.append(r.history)
    fig = compare_figure(runs, ["lr 0.5", "lr 10"], layer=1, unit=2)
    acc = [t for t in fig.data if t.xaxis == "x"]
    assert [t.name for t in acc] == ["lr 0.5, without BN", "lr 0.5, BN before activation",
                                     "lr 10, without BN", "lr 10, BN before activation"]
    assert [t.line.dash for t in acc] == [RUN_DASHES[0]] * 2 + [RUN_DASHES[1]] * 2
    assert acc[0].line.color == acc[2].line.color == COLORS["none"]
    for t, h, net in zip(acc, [runs[0]] * 2 + [runs[1]] * 2, ["none", "before"] * 2):
        np.testing.assert_allclose(y(t), [s.test_acc for s in h.snapshots(net)], rtol=1e-6)
    medians = [t for t in fig.data if t.xaxis == "x2" and t.hovertemplate]
    want = [s.layers[1].unit_percentiles[1, 2] for s in runs[1].snapshots("none")]
    np.testing.assert_allclose(y(medians[2]), want, rtol=1e-6)
    with pytest.raises(ValueError, match="one per run"):
        compare_figure(runs, ["one"], 1, 2)
