"""live_chart.FigureStream: the messages (full figures and deltas) that keep a browser's chart equal
to the figure builders' output, checked by applying them with an independent reference of the
browser side (a few lines below, written from the protocol in FigureStream's docstring) and
comparing with the figures themselves. Plus the Python fallback, through AppTest."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

import live_chart as L

sys.path.insert(0, str(Path(__file__).resolve().parent / "browser" / "apps"))
from live_chart_figures import NAMES, build

EXTRA = {"height": 300, "config": {}, "plotly": "component/x/plotly.min.js"}
DTYPES = {"f8": np.float64, "f4": np.float32, "i4": np.int32, "u4": np.uint32, "i2": np.int16,
          "u2": np.uint16, "i1": np.int8, "u1": np.uint8}


# ----------------------------------------------------------------------------- reference browser

def values(v):
    """A 1-D array attribute as a list of Python numbers (NaN kept), anything else as is."""
    if isinstance(v, dict) and "bdata" in v and "shape" not in v:
        raw = base64.b64decode(v["bdata"])
        return np.frombuffer(raw, dtype=DTYPES[v["dtype"]]).astype(float).tolist()
    if isinstance(v, list):
        return [float("nan") if x is None else x for x in v]
    return v


def normal(trace: dict) -> dict:
    return {k: values(v) for k, v in trace.items()}


class Browser:
    """What live_chart.js does with the messages, minus the drawing: it keeps the figure of every
    message by seq (a full one; or a delta applied to the figure of its `base`), holds a delta
    whose base has not come until it does, and shows the newest. A delta may carry a full message
    again (`keyframe`), delivered first."""

    def __init__(self, key: str | None = None):
        self.key, self.epoch, self.figures, self.state, self.held = key, None, {}, None, []

    def deliver(self, msg: dict) -> None:
        msg = json.loads(L.encode(msg))                  # exactly what goes over the wire
        for m in msg["msgs"] if msg["kind"] == "batch" else [msg]:
            if self.key is None or m["key"] == self.key:
                self._deliver(m)

    def _deliver(self, m: dict) -> None:
        if "keyframe" in m:
            self._deliver(m["keyframe"])
        if m["kind"] == "full" and m["epoch"] != self.epoch:
            self.epoch, self.figures, self.state = m["epoch"], {}, None
        if m["epoch"] == self.epoch and m["seq"] in self.figures:
            return
        if m["epoch"] != self.epoch or not (m["kind"] == "full" or m["base"] in self.figures):
            self.held.append(m)
            return
        self._store(m)
        waiting = True
        while waiting:
            waiting = False
            for h in self.held:
                if h["epoch"] != self.epoch or h["seq"] in self.figures:
                    self.held.remove(h)
                    waiting = True
                    break
                if h["base"] in self.figures:
                    self.held.remove(h)
                    self._store(h)
                    waiting = True
                    break

    def _store(self, m: dict) -> None:
        if m["kind"] == "full":
            fig = {"layout": m["layout"], "data": [normal(t) for t in m["data"]],
                   "frames": m["frames"]}
        else:
            base = self.figures[m["base"]]
            data = [dict(t) for t in base["data"]]
            for i, t in m.get("replace", {}).items():
                data[int(i)] = normal(t)
            for i, t in m.get("patch", {}).items():
                data[int(i)] = {**base["data"][int(i)], **normal(t)}
            for i, cols in m.get("extend", {}).items():
                for col, tail in cols.items():
                    data[int(i)][col] = base["data"][int(i)][col] + values(tail)
            layout = {**base["layout"], **m.get("layout", {})}
            for k in m.get("layout_del", []):
                del layout[k]
            fig = {**base, "layout": layout, "data": data}
        self.figures[m["seq"]] = fig
        if self.state is None or m["seq"] > self.state["seq"]:
            self.state = {**fig, "epoch": m["epoch"], "seq": m["seq"]}


def same(a, b) -> bool:
    """Equal, NaN equal to NaN (the numbers are float32 values, compared exactly)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return a == b


def shows(browser: Browser, fig) -> bool:
    """The browser's chart state equals the figure (every trace attribute and the layout)."""
    want = json.loads(L.encode(L.figure_dict(fig)))
    st = browser.state
    return (len(st["data"]) == len(want["data"])
            and all(same(normal(w), s) for w, s in zip(want["data"], st["data"]))
            and st["layout"] == want["layout"])


def stream(key="k", **kw) -> L.FigureStream:
    return L.FigureStream(key, **kw)


# ----------------------------------------------------------------------------- deltas

def test_growing_lines_send_only_their_new_points():
    s = stream()
    key = s.full(L.figure_dict(build("curves", 4)), EXTRA)
    msg = s.update(L.figure_dict(build("curves", 5, points=3)), EXTRA)
    assert msg["kind"] == "delta" and msg["base"] == key["seq"] == msg["seq"] - 1
    assert msg.pop("keyframe") == key                  # the first delta carries the full one
    assert set(msg) == {"v", "kind", "key", "epoch", "seq", "base", "extend"}   # no layout
    assert sorted(msg["extend"]) == [str(i) for i in range(6)]
    for cols in msg["extend"].values():
        assert set(cols) == {"x", "y"}
        assert cols["x"] == [10 * j for j in range(13, 16)]                # steps 130, 140, 150
        assert len(values(cols["y"])) == 3
    full = len(L.encode(s.full(L.figure_dict(build("curves", 5)), EXTRA)))
    assert len(L.encode(msg)) < full / 4


def test_a_delta_repeats_the_changes_of_the_window_before_it_and_not_more():
    s = stream(keyframe_every=6)
    key = s.full(L.figure_dict(build("curves", 1)), EXTRA)
    msgs = [s.update(L.figure_dict(build("curves", u)), EXTRA) for u in range(2, 11)]
    assert [m["kind"] for m in msgs] == ["delta"] * 6 + ["full"] + ["delta"] * 2
    w, k = L.WINDOW, key["seq"]                     # bases: w messages back, not before a full
    assert [m["base"] for m in msgs[:6]] == [max(k, k + u - w) for u in range(1, 7)]
    assert [m["base"] for m in msgs[7:]] == [msgs[6]["seq"]] * 2
    points = [len(values(m["extend"]["0"]["y"])) for m in msgs if m["kind"] == "delta"]
    assert points == [3 * min(j, w) for j in range(1, 7)] + [3, 6]
    assert ["keyframe" in m for m in msgs] == [True] + [False] * 6 + [True, False]


def test_changed_bars_send_only_their_heights_and_only_the_changed_layout_key():
    s = stream()
    s.full(L.figure_dict(build("hist", 3)), EXTRA)
    msg = s.update(L.figure_dict(build("hist", 4)), EXTRA)
    assert sorted(msg["patch"]) == ["0", "1", "2", "3"] and "extend" not in msg
    assert all(set(p) == {"y"} for p in msg["patch"].values())     # the bar centres stay
    assert msg["layout"] == {"title": {"text": "step 120"}}


def test_a_trace_whose_style_changed_since_the_base_is_patched_then_extended_again():
    s = stream()
    s.full(L.figure_dict(build("layer", 0)), EXTRA)          # 1 point: lines+markers
    kinds = []
    for u in range(1, 6):                                     # 4, 7, … points: lines
        msg = s.update(L.figure_dict(build("layer", u)), EXTRA)
        kinds.append("patch" if "patch" in msg else "extend")
        if "patch" in msg:
            assert len(msg["patch"]) == 9 and "extend" not in msg
            assert all({"mode", "x", "y"} <= set(p) for p in msg["patch"].values())
        else:
            assert len(msg["extend"]) == 9
    assert kinds == ["patch"] * L.WINDOW + ["extend"] * (5 - L.WINDOW)


def test_an_unchanged_figure_sends_nothing_and_a_remount_keeps_its_seq():
    s = stream()
    first = s.full(L.figure_dict(build("band", 2)), EXTRA)
    assert s.update(L.figure_dict(build("band", 2)), EXTRA) is None
    again = s.full(L.figure_dict(build("band", 2)), EXTRA)
    assert again["seq"] == first["seq"] and L.encode(again) == L.encode(first)
    assert s.update(L.figure_dict(build("band", 3)), EXTRA)["kind"] == "delta"
    assert s.update(L.figure_dict(build("band", 3)), EXTRA) is None
    assert s.full(L.figure_dict(build("band", 4)), EXTRA)["seq"] == first["seq"] + 2


@pytest.mark.parametrize("name", NAMES)
def test_the_messages_rebuild_every_figure_exactly(name):
    s, b = stream(keyframe_every=12), Browser()
    b.deliver(s.full(L.figure_dict(build(name, 0)), EXTRA))
    kinds = []
    for u in range(1, 30):
        fig = build(name, u)
        msg = s.update(L.figure_dict(fig), EXTRA)
        kinds.append(msg["kind"])
        b.deliver(msg)
        assert shows(b, fig), f"{name} after update {u}"
    assert kinds.count("full") == 2                           # keyframes after 12 and 24 deltas


def test_a_delta_that_arrives_late_does_no_harm():
    s, b = stream(), Browser()
    b.deliver(s.full(L.figure_dict(build("curves", 0)), EXTRA))
    m1 = s.update(L.figure_dict(build("curves", 1)), EXTRA)
    m2 = s.update(L.figure_dict(build("curves", 2)), EXTRA)
    b.deliver(m2)
    assert shows(b, build("curves", 2))                       # it needs nothing from m1
    b.deliver(m1)
    assert shows(b, build("curves", 2))
    b.deliver(s.update(L.figure_dict(build("curves", 3)), EXTRA))
    assert shows(b, build("curves", 3))


@pytest.mark.parametrize("lost", [(2,), (2, 3), (5,), (6,), (7, 8)])
def test_a_lost_message_costs_its_own_update_and_at_most_one_more(lost):
    """keyframe_every=4: update 5 is a full figure, 6 carries it again. Up to WINDOW - 1
    messages in a row may be lost; the one whose base a lost one was (WINDOW later) waits."""
    s, b = stream(keyframe_every=4), Browser()
    b.deliver(s.full(L.figure_dict(build("health", 0)), EXTRA))
    delivered, behind = [0], []
    for u in range(1, 13):
        msg = s.update(L.figure_dict(build("health", u)), EXTRA)
        assert (msg["kind"] == "full") == (u in (5, 10))
        if u not in lost:                                     # a feeder that never ran
            b.deliver(msg)
            delivered.append(u)
        shown = next(v for v in delivered[::-1] if shows(b, build("health", v)))
        behind.append(delivered.index(shown) < len(delivered) - 1)
    assert shown == 12 and sum(behind) <= len(lost)


def test_a_delta_before_its_base_waits_for_it():
    s, b = stream(keyframe_every=1), Browser()
    b.deliver(s.full(L.figure_dict(build("band", 0)), EXTRA))
    s.update(L.figure_dict(build("band", 1)), EXTRA)
    key = s.update(L.figure_dict(build("band", 2)), EXTRA)
    delta = s.update(L.figure_dict(build("band", 3)), EXTRA)
    assert key["kind"] == "full" and delta["base"] == key["seq"]
    b.deliver({k: v for k, v in delta.items() if k != "keyframe"})
    assert shows(b, build("band", 0)) and b.held
    b.deliver(key)
    assert shows(b, build("band", 3)) and not b.held


def test_deltas_stay_small_between_full_figures():
    s = stream()
    s.full(L.figure_dict(build("curves", 0)), EXTRA)
    msgs = [s.update(L.figure_dict(build("curves", u)), EXTRA) for u in range(1, 41)]
    sizes = [len(L.encode(m)) for m in msgs[1:]]
    assert max(sizes) < 1.2 * min(sizes[L.WINDOW:])     # the window's new points, not more
    assert max(sizes) < len(L.encode(s.full(L.figure_dict(build("curves", 40)), EXTRA))) / 8


def test_a_new_number_of_traces_or_new_extra_sends_the_whole_figure():
    s = stream()
    s.full(L.figure_dict(build("curves", 1)), EXTRA)
    fig = build("curves", 2)
    fig.add_scatter(x=[0, 1], y=[1, 2])
    assert s.update(L.figure_dict(fig), EXTRA)["kind"] == "full"
    assert s.update(L.figure_dict(fig), {**EXTRA, "height": 500})["kind"] == "full"


def test_growing_integer_arrays_keep_their_dtype_and_extend():
    s = stream()
    s.full(L.figure_dict(go.Figure(go.Scatter(x=np.arange(100), y=np.arange(100.0)))), EXTRA)
    msg = s.update(L.figure_dict(go.Figure(go.Scatter(x=np.arange(300), y=np.arange(300.0)))),
                   EXTRA)                    # plotly's own specs would go int8 → int16 here
    assert "patch" not in msg and values(msg["extend"]["0"]["x"]) == list(range(100, 300))


def test_an_array_whose_dtype_changes_is_sent_whole():
    s = stream()
    y = np.arange(5, dtype=np.float32)
    s.full(L.figure_dict(go.Figure(go.Scatter(y=y))), EXTRA)
    msg = s.update(L.figure_dict(go.Figure(go.Scatter(y=np.arange(8, dtype=np.float64)))), EXTRA)
    assert list(msg["patch"]["0"]) == ["y"] and msg["patch"]["0"]["y"]["dtype"] == "f8"


def test_a_figure_dict_has_the_same_content_as_plotlys_own_json():
    import plotly.io as pio

    for name in NAMES:
        fig = build(name, 7)
        ours = json.loads(L.encode(L.figure_dict(fig)))
        theirs = json.loads(pio.to_json(fig, validate=False))
        assert len(ours["data"]) == len(theirs["data"])
        for a, b in zip(ours["data"], theirs["data"]):
            assert a.keys() == b.keys() and all(same(values(a[k]), values(b[k])) for k in a)
        theirs["layout"].pop("template", None)
        assert {k: v for k, v in ours["layout"].items() if k != "template"} == theirs["layout"]


def test_list_values_with_nan_extend():
    nan = float("nan")
    old = {"type": "scatter", "x": [0, 1, 2], "y": [1.0, nan, 2.0]}
    kind, tails = L.trace_change(old, {"type": "scatter", "x": [0, 1, 2, 3],
                                       "y": [1.0, float("nan"), 2.0, nan]})
    assert kind == "extend" and tails["x"] == [3] and np.isnan(tails["y"][0])
    assert L.trace_change(old, {**old, "y": [1.0, 5.0, 2.0]}) == ("patch", {"y": [1.0, 5.0, 2.0]})
    assert L.trace_change(old, {**old, "x": [0, 1]})[0] == "patch"
    assert L.trace_change(old, {**old, "name": "a"}) == "replace"
    assert L.trace_change(old, dict(old)) is None


def test_a_figures_template_is_sent_as_it_is_and_the_labs_figures_name_theirs():
    """No copy of Streamlit's theme colours here: a figure names its template (bn_core.style's
    "plotly_white"), so Streamlit's default one, whose colours are placeholders ("#000001"…) that
    only st.plotly_chart's frontend fills in, never reaches a live chart."""
    import streamlit.elements.plotly_chart  # noqa: F401  (makes "streamlit" plotly's default)
    from bn_core.lab import views
    from bn_core.trainer import Run, TrainConfig

    fig = go.Figure(go.Scatter(y=[1, 2]), layout={"template": "plotly_white"})
    assert L.figure_dict(fig)["layout"]["template"] == fig.to_plotly_json()["layout"]["template"]
    run = Run(TrainConfig(steps=40, record_every=10))
    for _ in run.stream():
        pass
    for name, d in views.live_figures(run.history, 0, 0, as_dict=True).items():
        layout = L.figure_dict(d)["layout"]
        assert layout.get("template") == "plotly_white", name
        assert '"#0000' not in L.encode(L.figure_dict(d)).decode(), name


def test_plotly_js_is_copied_into_the_static_folder_once_and_replaced_when_it_differs(tmp_path):
    src = L.plotly_js_source()
    got = L.ensure_static_plotly(tmp_path)
    assert got == tmp_path / "static" / L.plotly_js_name()
    assert got.read_bytes() == src.read_bytes()
    mtime = got.stat().st_mtime_ns
    assert L.ensure_static_plotly(tmp_path) == got and got.stat().st_mtime_ns == mtime  # kept
    got.write_bytes(b"// another plotly.js")
    (tmp_path / "static" / "plotly-0.0.1.min.js").write_text("// an old release")
    (tmp_path / "static" / "mine.css").write_text("")
    assert L.ensure_static_plotly(tmp_path).read_bytes() == src.read_bytes()
    assert sorted(p.name for p in (tmp_path / "static").iterdir()) \
        == sorted([L.plotly_js_name(), "mine.css"])


def test_the_production_config_serves_the_static_folder():
    import tomllib

    config = tomllib.loads((Path(L.__file__).parent / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableStaticServing"] is True


def test_a_dict_figure_with_numpy_arrays_is_the_same_as_its_go_figure():
    y = np.linspace(0, 1, 7, dtype=np.float32)
    as_dict = {"data": [{"type": "bar", "x": [1, 2, 3, 4, 5, 6, 7], "y": y}],
               "layout": {"height": 200}}
    d = L.figure_dict(as_dict)
    assert d["data"][0]["y"] == L.figure_dict(go.Figure(as_dict))["data"][0]["y"]
    with pytest.raises(ValueError, match="expected a plotly go.Figure"):
        L.figure_dict([1, 2])


# ----------------------------------------------------------------------------- Streamlit glue

APP = f"""
import sys
sys.path.insert(0, {str(Path(L.__file__).parent)!r})
sys.path.insert(0, {str(Path(__file__).resolve().parent / "browser" / "apps")!r})
import streamlit as st
from live_chart import live_batch, live_chart
from live_chart_figures import build
BATCH = False
boxes = {{name: st.empty() for name in ("curves", "band")}}
for u in range(4):
    with live_batch() if BATCH else st.empty().container():
        for name, box in boxes.items():
            live_chart(build(name, u), key=name, into=box)
"""


def _run(tmp_path, batch=False):
    from streamlit.testing.v1 import AppTest

    script = tmp_path / "app.py"
    script.write_text(APP.replace("BATCH = False", f"BATCH = {batch}"))
    return AppTest.from_file(str(script), default_timeout=30).run()


def _messages(at) -> list[dict]:
    return [json.loads(e.proto.bytes) for e in at.get("bidi_component")]


def test_in_a_script_the_chart_mounts_once_and_later_calls_feed_it(tmp_path):
    at = _run(tmp_path)
    assert not at.exception and not at.get("plotly_chart")
    keys = [e.key for e in at.get("bidi_component")]
    assert sorted(k for k in keys if k.startswith("lc-")) == ["lc-band", "lc-curves"]
    assert len(keys) == 2 + 2 * 3 and sum(k.startswith("lcfeed-") for k in keys) == 6
    msgs = _messages(at)
    assert sorted(m["kind"] for m in msgs) == ["delta"] * 6 + ["full"] * 2
    assert all(m["plotly"] == f"app/static/{L.plotly_js_name()}" for m in msgs
               if m["kind"] == "full")
    assert (tmp_path / "static" / L.plotly_js_name()).is_file()     # next to the main script
    for name in ("curves", "band"):
        b = Browser(name)
        for m in msgs:                                   # in page order, not send order
            b.deliver(m)
        assert shows(b, build(name, 3)) and not b.held


def test_live_batch_sends_a_round_of_updates_as_one_element(tmp_path):
    at = _run(tmp_path, batch=True)
    assert not at.exception
    msgs = _messages(at)
    assert sorted(m["kind"] for m in msgs) == ["batch"] * 3 + ["full"] * 2
    assert [[m["key"] for m in b["msgs"]] for b in msgs if b["kind"] == "batch"] \
        == [["curves", "band"]] * 3
    for name in ("curves", "band"):
        b = Browser(name)
        for m in msgs:
            b.deliver(m)
        assert shows(b, build(name, 3)) and not b.held


def test_a_placeholder_that_outlives_the_run_mounts_the_chart_again_in_the_next(tmp_path):
    from streamlit.testing.v1 import AppTest

    script = tmp_path / "side.py"
    script.write_text(APP.split("BATCH = False")[0] + """
for u in range(3):
    live_chart(build("curves", u), key="side", into=st.sidebar)
""")
    at = AppTest.from_file(str(script), default_timeout=30).run()
    for _ in range(2):
        assert not at.exception
        kinds = sorted(json.loads(e.proto.bytes)["kind"] for e in at.sidebar.get("bidi_component"))
        assert kinds == ["delta", "delta", "full"]
        at.run()


def test_if_the_component_fails_the_chart_falls_back_to_plotly_chart(tmp_path, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("no components here")

    monkeypatch.setattr(L, "_chart_component", broken)
    at = _run(tmp_path)
    assert not at.exception
    assert len(at.get("plotly_chart")) == 2             # each chart, redrawn in its placeholder
    assert at.caption[0].value == L.FALLBACK_CAPTION


def test_without_static_serving_the_chart_falls_back_to_plotly_chart(tmp_path, monkeypatch):
    real = L.st.get_option
    monkeypatch.setattr(L.st, "get_option", lambda name: False
                        if name == "server.enableStaticServing" else real(name))
    at = _run(tmp_path)
    assert not at.exception and not at.get("bidi_component")
    assert len(at.get("plotly_chart")) == 2
