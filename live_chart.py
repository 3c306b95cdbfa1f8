"""Live Plotly charts for Streamlit pages that redraw while a script runs (a training loop).

    box = st.empty()                              # created once per script run, as for plotly_chart
    for step in training:
        ...
        live_chart(figure_builder(history), key="lab_curves", into=box)   # as often as you like

What it does (Streamlit 1.67, `st.components.v2`, no build step):
- The first call of a script run for a placeholder `into` mounts the chart element there, with a key
  derived from `key` that is the same in every run: the browser keeps that element, and with it
  one Plotly graph <div> per key, for the whole page visit. The chart is never re-created; it is
  updated in place: with `Plotly.animate` (no redraw of axes, legend or titles) where only data
  arrays and the title's plain text changed on axes of fixed range, else with `Plotly.react`
  (live_chart_assets/live_chart.js; a browser test checks that both draw the same).
- A later call in the same run cannot mount the element again (a key may appear once per run), so
  it sends a *delta* through a hidden "feeder" element (a new key each time, in one of
  `FEED_SLOTS` rotating placeholders next to the chart): against an earlier message (its base),
  the new points of traces that only grew, the changed attributes of traces that changed
  otherwise, and the layout keys that changed. Nothing is sent when the figure did not
  change. `live_batch()` sends the updates of several charts as one element.
- A delta's base is the message `WINDOW` messages before it, or the last full one if that is
  later: it repeats the changes of the two deltas before it. So a browser that never got a delta
  shows the next one all the same (only the delta whose base it was cannot be shown), and one
  that arrives late (React may mount feeders out of order) is no harm.
  A lost feeder is not hypothetical: under load, Chromium was seen to never run one (its delta
  missing, those after it fine), which used to freeze a chart until the next full figure. A
  full figure is sent every `KEYFRAME_EVERY` deltas, and the next delta carries it again.
- plotly.js comes from the installed `plotly` package (plotly/package_data/plotly.min.js), which
  this module copies, when it first draws (or `python live_chart.py`), into the app's static
  folder, `static/plotly-<version>.min.js` next to the main script; Streamlit serves that folder
  at <base>/app/static/ (`server.enableStaticServing = true` in .streamlit/config.toml; .js as
  text/javascript). It is loaded once per page with one <script> tag shared by all charts
  (window.__bnLiveChart). Why not components: v1's `declare_component(path=...)` is the legacy
  route, and v2 asset folders need an installed package with a manifest; why not a copy in git:
  4.7 MB per plotly release, which could then differ from the installed plotly.
- Fallback: if the component cannot be built or sent (an exception here: e.g. static serving off,
  or a static folder that cannot be written) or the browser cannot load
  plotly.js (it reports back, which reruns the script once), the chart is drawn with
  `st.plotly_chart` and a caption, for the rest of the session: never a blank area.

The figure builders stay the single description of each chart: `fig` is a `go.Figure` (or its
dict) built elsewhere; this module only compares what was sent with what is new.
`FigureStream` (below) is that comparison, pure Python, tested in tests/test_live_chart.py.
"""

from __future__ import annotations

import base64
import contextlib
import filecmp
import logging
import math
import os
import secrets
import shutil
import sys
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

import streamlit_compat

__all__ = [
    "FEED_SLOTS",
    "KEYFRAME_EVERY",
    "FigureStream",
    "encode",
    "figure_dict",
    "live_batch",
    "live_chart",
]

_LOG = logging.getLogger(__name__)
ASSETS = Path(__file__).resolve().parent / "live_chart_assets"
FEED_SLOTS = 8              # rotating placeholders for feeders, per chart
KEYFRAME_EVERY = 40         # a full figure after this many deltas (≈ 10 s at 4 updates/s)
WINDOW = 3                  # a delta is against the message this many before it
RESEND = 1                  # the deltas after a full one that carry it again
DEFAULT_HEIGHT = 450        # plotly's default, for figures without layout.height
FALLBACK_CAPTION = ("Drawn with Streamlit's standard chart: the live chart could not load here, "
                    "so this chart is redrawn whole and may update less often while training.")
_SS_KEY = "_bn_live_chart"


# ----------------------------------------------------------------------------- figures as dicts

_SHORT = {"float64": "f8", "float32": "f4", "int32": "i4", "uint32": "u4", "int16": "i2",
          "uint16": "u2", "int8": "i1", "uint8": "u1"}


def _array(a: np.ndarray):
    """A numpy array as plotly.js takes it: a base64 typed-array spec for numbers (64-bit integers
    as int32 when they fit; the dtype stays the same as the values grow, so arrays keep
    extending), else a list."""
    if a.dtype.kind in "iu" and a.dtype.itemsize == 8:
        if a.size and (a.min() < -2**31 or a.max() >= 2**31):
            return a.tolist()
        a = a.astype(np.int32)
    short = _SHORT.get(a.dtype.name)
    if short is None or a.size == 0:
        return a.tolist()
    spec = {"dtype": short, "bdata": base64.b64encode(np.ascontiguousarray(a)).decode()}
    if a.ndim > 1:
        spec["shape"] = ", ".join(map(str, a.shape))
    return spec


def _to_spec(value):
    """A copy of a figure's dicts and lists: numpy arrays as `_array` makes them, tuples as
    lists."""
    if isinstance(value, dict):
        return {k: _to_spec(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_spec(v) for v in value]
    if isinstance(value, np.ndarray):
        return _array(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def figure_dict(fig) -> dict:
    """{"data": [trace dicts], "layout": {...}, "frames": [...]} as plotly.js takes them: numpy
    arrays as plotly's base64 typed-array specs ({"dtype": "f4", "bdata": ...}), as
    `go.Figure.to_plotly_json()` writes them. The template is sent as it is: a figure names its
    own (bn_core.style: "plotly_white"), since a go.Figure built after `import streamlit` without
    one gets Streamlit's, whose colours only st.plotly_chart's frontend fills in."""
    if hasattr(fig, "_data") and hasattr(fig, "_layout") and hasattr(fig, "_frame_objs"):
        # a go.Figure: its validated properties, copied here (to_plotly_json deep-copies them and
        # then converts each array through narwhals: 2–3 times slower for the lab's figures)
        layout = dict(fig._layout)
        template = layout.pop("template", None)
        d = {"data": _to_spec(fig._data), "layout": _to_spec(layout),
             "frames": _to_spec([f._props for f in fig._frame_objs])}
        if template is not None:
            d["layout"]["template"] = template
    elif hasattr(fig, "to_plotly_json"):
        d = _to_spec(fig.to_plotly_json())
    elif isinstance(fig, dict):
        d = _to_spec(fig)
    else:
        raise ValueError("fig: expected a plotly go.Figure or a figure dict, got "
                         f"{type(fig).__name__}")
    data = d.get("data") or []
    if not isinstance(data, (list, tuple)) or not all(isinstance(t, dict) for t in data):
        raise ValueError("fig: expected data to be a list of trace dicts")
    layout = dict(d.get("layout") or {})
    return {"data": list(data), "layout": layout, "frames": list(d.get("frames") or [])}


def encode(msg: dict) -> bytes:
    """A message as UTF-8 JSON (plotly's encoder: numpy scalars, NaN → null)."""
    from plotly.io.json import to_json_plotly

    return to_json_plotly(msg).encode()


# ----------------------------------------------------------------------------- deltas

def _is_spec(v) -> bool:
    return isinstance(v, dict) and "bdata" in v and "dtype" in v


def _decode(spec: dict) -> np.ndarray:
    from _plotly_utils.utils import plotlyjsShortTypes

    dtype = {short: name for name, short in plotlyjsShortTypes.items()}[spec["dtype"]]
    return np.frombuffer(base64.b64decode(spec["bdata"]), dtype=dtype)


def _spec_of(values: np.ndarray, dtype_code: str) -> dict:
    return {"dtype": dtype_code, "bdata": base64.b64encode(np.ascontiguousarray(values)).decode()}


def _same_values(a, b) -> bool:
    """Equal element by element, NaN equal to NaN (lists from figure builders may hold NaN)."""
    if len(a) != len(b):
        return False
    if a == b:
        return True
    for x, y in zip(a, b):
        if not (x == y or (isinstance(x, float) and isinstance(y, float)
                           and math.isnan(x) and math.isnan(y))):
            return False
    return True


def trace_change(old: dict, new: dict):
    """How trace `new` differs from `old` (both plotly.js trace dicts):
        None                       the same
        ("extend", {col: tail})    only grew: every 1-D array attribute of `old` is a prefix of
                                   the one in `new` (same typed-array dtype), at least one is
                                   longer; tail = the new values, in the same representation
        ("patch", {key: value})    the same attributes, some with other values: those, whole
        "replace"                  attributes added or removed: the whole trace"""
    if old is new:
        return None
    if old.keys() != new.keys():
        return "replace"
    tails, changed = {}, {}
    for k, n in new.items():
        o = old[k]
        if o is n:
            continue
        if _is_spec(o) and _is_spec(n):
            if o == n:
                continue
            tail = _spec_tail(o, n)
        elif isinstance(o, list) and isinstance(n, list):
            if len(n) == len(o) and _same_values(o, n):
                continue
            tail = n[len(o):] if len(n) > len(o) and _same_values(o, n[:len(o)]) else None
        elif _same_value(o, n):
            continue
        else:
            tail = None
        if tail is None:
            changed[k] = n
        else:
            tails[k] = tail
    if changed:
        changed.update({k: new[k] for k in tails})
        return ("patch", changed)
    return ("extend", tails) if tails else None


def _spec_tail(o: dict, n: dict) -> dict | None:
    """The typed-array spec of n's values after o's, if o's values are a prefix of n's (same
    dtype, 1-D, n longer); else None."""
    if o["dtype"] != n["dtype"] or "shape" in o or "shape" in n:
        return None
    a, b = _decode(o), _decode(n)
    if len(b) <= len(a):
        return None
    head = b[:len(a)]
    same = (np.array_equal(a, head, equal_nan=True) if a.dtype.kind == "f"
            else np.array_equal(a, head))
    return _spec_of(b[len(a):], n["dtype"]) if same else None


@dataclass
class FigureStream:
    """What the browser has of one chart (as far as this session sent it), and the next message.

    Messages (dicts; `encode` makes them bytes):
        full   {"kind": "full", key, epoch, seq, data, layout, frames, config, height, plotly}
        delta  {"kind": "delta", key, epoch, seq, base, replace: {i: trace},
                patch: {i: {attr: value}}, extend: {i: {col: tail}}, layout: {k: value},
                layout_del: [k], keyframe: full}       (only the parts that are not empty)
    A delta says how the figure differs from the one sent `window` messages before it (its
    `base`; never before the last full one), not from the message just before: it repeats the
    changes of the `window` − 1 deltas before it. So a browser that never got a delta (a feeder
    element that never ran) or got two swapped is right again at the next one; only the delta
    whose base the lost one was cannot be applied (the browser holds it, and shows the one after).
    The first RESEND deltas after a full one carry it again (`keyframe`), so losing a full figure
    costs no more. A full figure every keyframe_every deltas. `epoch` names this stream (a new
    session starts a new one), so a browser never mixes two streams' sequence numbers."""

    key: str
    keyframe_every: int = KEYFRAME_EVERY
    window: int = WINDOW
    epoch: str = field(default_factory=lambda: secrets.token_hex(4))
    seq: int = 0
    last: dict | None = None          # the figure as last sent
    extra: dict | None = None         # height, config, plotly path as last sent
    since_full: int = 0
    keyframe: dict | None = None      # the last full message
    sent: list = field(default_factory=list)    # [(seq, figure)] of the last `window` messages

    def _head(self, kind: str) -> dict:
        return {"v": 1, "kind": kind, "key": self.key, "epoch": self.epoch, "seq": self.seq}

    def full(self, fig: dict, extra: dict) -> dict:
        """The whole figure. Unchanged since the last message: the same seq (the browser that has
        it ignores it, and the bytes are the same)."""
        if not (self.last is not None and extra == self.extra and _same_figure(fig, self.last)):
            self.seq += 1
        self.last, self.extra, self.since_full = fig, dict(extra), 0
        self.sent = [(self.seq, fig)]
        self.keyframe = {**self._head("full"), **fig, **extra}
        return self.keyframe

    def update(self, fig: dict, extra: dict) -> dict | None:
        """What changed: None (nothing since the last message), a delta, or a full figure (the
        first message, a changed number of traces, frames or extra, or every keyframe_every)."""
        last = self.last
        if (last is None or extra != self.extra or len(fig["data"]) != len(last["data"])
                or self.since_full >= self.keyframe_every or fig["frames"] != last["frames"]):
            if last is not None and extra == self.extra and _same_figure(fig, last):
                return None
            return self.full(fig, extra)
        if _same_figure(fig, last):
            return None
        base, base_fig = self.sent[0]
        self.seq += 1
        self.since_full += 1
        self.last = fig
        self.sent = [*self.sent, (self.seq, fig)][-self.window:]
        msg = {**self._head("delta"), "base": base, **_changes(base_fig, fig)}
        if self.since_full <= RESEND:
            msg["keyframe"] = self.keyframe
        return msg


def _changes(old: dict, new: dict) -> dict:
    """How figure `new` differs from `old` (same number of traces): the non-empty parts of a
    delta (replace, patch, extend, layout, layout_del; see FigureStream)."""
    replace, patch, extend = {}, {}, {}
    for i, (o, n) in enumerate(zip(old["data"], new["data"])):
        change = trace_change(o, n)
        if change == "replace":
            replace[str(i)] = n
        elif change is not None:
            (extend if change[0] == "extend" else patch)[str(i)] = change[1]
    old_layout, new_layout = old["layout"], new["layout"]
    layout = {k: v for k, v in new_layout.items()
              if k not in old_layout or not _same_value(old_layout[k], v)}
    layout_del = [k for k in old_layout if k not in new_layout]
    parts = {"replace": replace, "patch": patch, "extend": extend, "layout": layout,
             "layout_del": layout_del}
    return {name: part for name, part in parts.items() if part}


def _same_value(a, b) -> bool:
    if a is b:
        return True
    try:
        return bool(a == b)
    except ValueError:                 # numpy arrays in a dict figure that skipped figure_dict
        return False


def _same_figure(a: dict, b: dict) -> bool:
    return (len(a["data"]) == len(b["data"])
            and all(trace_change(o, n) is None for o, n in zip(b["data"], a["data"]))
            and _same_value(a["layout"], b["layout"]) and _same_value(a["frames"], b["frames"]))


# ----------------------------------------------------------------------------- Streamlit glue

# A feeder is an element of its own in the page: it must take no space (Streamlit's layout puts a
# gap between elements). Hiding it relies on two private details of Streamlit's frontend (1.67):
#   - each element sits in a <div data-testid="stElementContainer" class="stElementContainer …">;
#   - an element with key=K gets the class "st-key-K" on that container (documented for
#     st.container(key=), not for components).
# FEED_JS hides the container found by the first, else by the second (both: the CSS below too,
# before the feeder's script runs); if neither is found it hides the nearest ancestor that is a
# flex item (the element's slot in the layout) and counts it as guessed. The registry counts
# both (window.__bnLiveChartFeeders); tests/browser/test_live_chart_health.py fails on a guessed one or
# on a feeder that takes space, so a rename shows in the tests, not as gaps in a lesson.
FEED_JS = """
function slotOf(c) {
  const host = c.parentElement;
  if (!host) return [null, false];
  host.dataset.bnFeeder = "1";
  const box = host.closest('[data-testid="stElementContainer"]')
    || host.closest('[class*="st-key-lcfeed-"]');
  if (box) return [box, false];
  let el = host;
  while (el.parentElement && !/flex/.test(getComputedStyle(el.parentElement).display)) {
    el = el.parentElement;
  }
  return [el.parentElement ? el : host, true];
}
export default function (c) {
  const [box, guessed] = slotOf(c);
  if (box) box.style.display = "none";
  if (guessed) console.warn("live_chart: no Streamlit element container around a feeder");
  const count = (window.__bnLiveChartFeeders = window.__bnLiveChartFeeders || {hidden: 0, guessed: 0});
  count.hidden += box ? 1 : 0;
  count.guessed += guessed ? 1 : 0;
  const reg = window.__bnLiveChart;
  if (reg) reg.deliver(c.data);
  else (window.__bnLiveChartInbox = window.__bnLiveChartInbox || []).push(c.data);
}
"""
CSS = """
.bn-live-chart { width: 100%; position: relative; }
.bn-live-chart > .bn-lc-msg { position: absolute; inset: 0; display: flex; align-items: center;
  justify-content: center; color: #6b7280; font: 14px "Source Sans Pro", Arial, sans-serif; }
.stElementContainer[class*="st-key-lcfeed-"] { display: none !important; }
"""

_BUILD_ERROR: str | None = None
try:
    _chart_component = st.components.v2.component(
        "bn_live_chart", html="", css=CSS, js=(ASSETS / "live_chart.js").read_text(),
        isolate_styles=False)     # Plotly puts its styles in document.head: no shadow root
    _feed_component = st.components.v2.component("bn_live_chart_feed", js=FEED_JS,
                                                 isolate_styles=False)
except Exception as exc:  # noqa: BLE001  (an older Streamlit, a missing asset: fall back)
    _chart_component = _feed_component = None
    _BUILD_ERROR = f"{type(exc).__name__}: {exc}"


@dataclass
class _Session:
    streams: dict = field(default_factory=dict)     # key → FigureStream
    failed: str | None = None                       # set once the browser reports no plotly.js
    counter: int = 0


@dataclass
class _Mount:
    key: str
    slots: list
    run: Any = None                                 # the script run it was mounted in
    fed: int = 0                                    # feeders sent into these slots this run


def _run_token():
    """An object that changes with every script run (the run context's cursors dict, which each
    run replaces), so that a placeholder that outlives a run (st.sidebar) mounts again."""
    return streamlit_compat.run_token()


_MOUNTS: weakref.WeakKeyDictionary[Any, _Mount] = weakref.WeakKeyDictionary()
_BATCH = threading.local()                          # live_batch's pending messages, per script


def _session() -> _Session:
    s = st.session_state.get(_SS_KEY)
    if not isinstance(s, _Session):
        s = st.session_state[_SS_KEY] = _Session()
    return s


# ----------------------------------------------------------------------------- plotly.js

STATIC_NAME = "static"          # Streamlit's app static folder: next to the main script, served
STATIC_URL = "app/static"       # at <base>/app/static/… when server.enableStaticServing is true
_STATIC_LOCK = threading.Lock()
_STATIC: dict[str, str] = {}    # folder → URL path of plotly.js there (checked once per process)


def plotly_js_source() -> Path:
    """plotly.min.js of the installed plotly package (the same version as the Python side)."""
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def plotly_js_name() -> str:
    import plotly

    return f"plotly-{plotly.__version__}.min.js"


def main_script_folder() -> Path:
    """The folder of the app's main script, next to which Streamlit serves `static/`: from the
    script run context (streamlit_compat), else sys.argv[0] (`streamlit run` sets it to the
    script: the documented way a script gets its own arguments)."""
    path = streamlit_compat.main_script_path()
    script = Path(path or (sys.argv[0] if sys.argv else ""))
    if script.suffix != ".py" or not script.is_file():
        raise RuntimeError(f"no main script found (run context: {path!r}, sys.argv[0]: "
                           f"{sys.argv[:1]})")
    return script.resolve().parent


def ensure_static_plotly(folder: Path | None = None) -> Path:
    """plotly.min.js of the installed package as `<folder>/static/plotly-<version>.min.js`
    (folder: the main script's), copied there if missing or different (atomically: another
    server process may be reading it); older copies removed. Returns the file.
    Raises OSError where the folder cannot be written and holds no good copy (a read-only
    deployment: run `python live_chart.py` once as the files' owner, as deploy/Dockerfile does)."""
    static = (folder or main_script_folder()) / STATIC_NAME
    src, dst = plotly_js_source(), static / plotly_js_name()
    if dst.is_file() and filecmp.cmp(src, dst, shallow=False):
        return dst
    static.mkdir(parents=True, exist_ok=True)
    tmp = static / f".{dst.name}.{os.getpid()}.tmp"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
    for old in static.glob("plotly-*.min.js"):
        if old != dst:
            with contextlib.suppress(OSError):
                old.unlink()
    _LOG.info("live_chart: copied plotly.js to %s (served at /%s/%s)", dst, STATIC_URL, dst.name)
    return dst


def _plotly_path() -> str:
    """The URL path (relative to the app's base) of plotly.js, served by this Streamlit server
    from its app static folder (no CDN, no components v1). Raises (so the chart falls back, with
    the reason in the log) where static serving is off or the file cannot be put there."""
    if not st.get_option("server.enableStaticServing"):
        raise RuntimeError("server.enableStaticServing is off (.streamlit/config.toml turns it on;"
                           " run streamlit from the app's folder)")
    folder = str(main_script_folder())
    path = _STATIC.get(folder)
    if path is None:
        with _STATIC_LOCK:
            path = _STATIC.get(folder)
            if path is None:
                path = _STATIC[folder] = f"{STATIC_URL}/{ensure_static_plotly(Path(folder)).name}"
    return path


def _on_failed() -> None:
    _session().failed = "the browser could not load plotly.js"


def live_chart(fig, key: str, *, into=None, height: int | None = None,
               config: dict | None = None):
    """Draw `fig` (a plotly go.Figure or figure dict) as a live chart named `key`.

    into: the placeholder (e.g. `st.empty()`) that holds the chart; the first call of a run for it
          mounts the chart, later calls in the same run update it in place (pass the same
          placeholder). None: a new `st.empty()` here.
    height: pixels (default: the figure's layout.height, else 450). config: plotly.js config.
    Returns the placeholder, for later calls. Falls back to `st.plotly_chart` plus a caption
    where the live chart cannot work (see the module doc)."""
    into = st.empty() if into is None else into
    sess = _session()
    reason = _BUILD_ERROR or sess.failed
    if reason is None:
        try:
            _draw(fig, key, into, height, config, sess)
            return into
        except Exception as exc:  # noqa: BLE001  (Streamlit's stop/rerun: BaseException, pass)
            reason = f"{type(exc).__name__}: {exc}"
            _LOG.warning("live_chart %r falls back to st.plotly_chart: %s", key, reason)
    _fallback(fig, key, into, config, sess)
    return into


def _draw(fig, key, into, height, config, sess: _Session) -> None:
    d = figure_dict(fig)
    h = int(height or d["layout"].get("height") or DEFAULT_HEIGHT)
    stream = sess.streams.get(key)
    if stream is None:
        stream = sess.streams[key] = FigureStream(key)
    mount, run = _MOUNTS.get(into), _run_token()
    if mount is None or mount.key != key or mount.run is not run:   # first call of this run
        extra = {"height": h, "config": dict(config or {}), "plotly": _plotly_path()}
        msg = stream.full(d, extra)
        holder = into.container()
        with holder:
            _chart_component(key=f"lc-{key}", data=encode(msg), height=h,
                             on_failed_change=_on_failed)
        _MOUNTS[into] = _Mount(key, [holder.empty() for _ in range(FEED_SLOTS)], run)
        return
    extra = {"height": h, "config": dict(config or {}), "plotly": stream.extra["plotly"]}
    msg = stream.update(d, extra)
    if msg is None:
        return
    pending = getattr(_BATCH, "items", None)
    if pending is not None:
        pending.append((mount, msg))
    else:
        _feed(mount, msg, sess)


def _feed(mount: _Mount, msg: dict, sess: _Session) -> None:
    """One hidden feeder element carrying `msg`, in the next of the chart's rotating slots."""
    sess.counter += 1
    slot = mount.slots[mount.fed % FEED_SLOTS]
    mount.fed += 1
    with slot:
        _feed_component(key=f"lcfeed-{sess.counter}", data=encode(msg))


@contextlib.contextmanager
def live_batch():
    """Send the updates of every live_chart call inside the block as one message (one element):
    Streamlit's frontend handles each element with a render of the page (≈ 10–20 ms on a slow
    laptop), so five charts updated together cost one such render instead of five. Mounting (a
    chart's first call in a run) is not delayed. If the block raises, nothing is sent."""
    outer = getattr(_BATCH, "items", None)
    _BATCH.items = items = []
    try:
        yield
    finally:
        _BATCH.items = outer
    if not items:
        return
    if outer is not None:                       # nested: the outer block sends them
        outer.extend(items)
        return
    sess = _session()
    if len(items) == 1:
        _feed(items[0][0], items[0][1], sess)
        return
    msgs = [m for _, m in items]
    try:
        _feed(items[0][0], {"v": 1, "kind": "batch", "msgs": msgs}, sess)
    except Exception as exc:  # noqa: BLE001  (Streamlit's stop/rerun pass through)
        _LOG.warning("live_batch falls back to st.plotly_chart: %s", exc)
        sess.failed = f"{type(exc).__name__}: {exc}"


def _fallback(fig, key, into, config, sess: _Session) -> None:
    sess.counter += 1
    with into.container():
        st.plotly_chart(fig, key=f"lcfb-{key}-{sess.counter}", config=config or {})
        st.caption(FALLBACK_CAPTION)


if __name__ == "__main__":       # python live_chart.py [FOLDER]: put plotly.js in FOLDER/static
    print(ensure_static_plotly(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent))
