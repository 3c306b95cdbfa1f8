// Live Plotly chart for Streamlit components v2 (see live_chart.py, which inlines this module).
//
// One registry per browser page (window.__bnLiveChart) holds every live chart by its key: the
// chart's <div> (a Plotly graph div that is kept, never re-created), the figures of the last
// messages received (by sequence number: the bases of the deltas to come) and the newest of
// them (the "state": data, layout, frames, config). Messages come from two kinds of elements:
//   - the chart element (mounted once per script run, same key across runs: React keeps it), whose
//     message is always a whole figure ("full");
//   - hidden feeder elements (one per later update in the run, or per live_batch), whose message
//     is usually a "delta" against an earlier message (its base, a few messages back): new points
//     of line traces, changed or replaced traces and changed layout keys. A delta repeats the
//     changes of the two before it, so a feeder that never runs costs its own update and that of
//     the delta whose base it was, not more.
// Messages can arrive out of order (a feeder before its chart element): a delta whose base has
// not come yet is held until it does; an older message only adds a base. Drawing happens from the
// state, for all charts due in one animation frame, so a burst of messages costs one redraw.
// Where only data arrays changed (and the title's plain text), on axes of fixed range, the chart is
// redrawn in place: Plotly.animate without a redraw moves the traces and leaves the axes, legend
// and titles as they are (about half the browser's time of Plotly.react for the lab's charts).
// Anything else goes through Plotly.react. tests/browser/test_live_chart.py checks, for the lab's
// own figures, that both draw the same markup.
// plotly.js is loaded once per page, with a (classic) <script> tag, from the installed plotly
// package, which live_chart.py copies into the app's static folder: this Streamlit server serves
// it at <base>/app/static/plotly-<version>.min.js (server.enableStaticServing; no CDN).

const VERSION = 4;
const PLOTLY_TIMEOUT_MS = 30000;
const KEEP = 8;                                  // figures kept per chart, as bases for deltas
const DRAW_SHARE = 0.85;                         // the most of the main thread spent drawing
const BATCH_MS = 250;                            // the most drawing in one animation frame
const FAILED = "This chart could not load its drawing library; switching to the standard chart…";

const DTYPES = {
  f8: Float64Array, f4: Float32Array, i4: Int32Array, u4: Uint32Array, i2: Int16Array,
  u2: Uint16Array, i1: Int8Array, u1: Uint8Array, u1c: Uint8ClampedArray,
};

function isSpec(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v) && typeof v.bdata === "string"
    && typeof v.dtype === "string" && v.shape === undefined && DTYPES[v.dtype] !== undefined;
}

function decodeSpec(spec) {                      // {dtype: "f4", bdata: base64} -> Float32Array
  const bin = atob(spec.bdata);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const Ctor = DTYPES[spec.dtype];
  return new Ctor(bytes.buffer, 0, bytes.length / Ctor.BYTES_PER_ELEMENT);
}

function decodeValue(v) { return isSpec(v) ? decodeSpec(v) : v; }

function decodeTrace(trace) {                    // 1-D typed arrays decoded, the rest kept
  const out = {};
  for (const [k, v] of Object.entries(trace)) out[k] = decodeValue(v);
  return out;
}

function concat(a, b) {                          // a new array: a's values, then b's (a's kind)
  if (ArrayBuffer.isView(a)) {
    const out = new a.constructor(a.length + b.length);
    out.set(a, 0);
    if (ArrayBuffer.isView(b)) out.set(b, a.length);
    else for (let i = 0; i < b.length; i++) out[a.length + i] = b[i] === null ? NaN : b[i];
    return out;
  }
  return a.concat(Array.from(b));
}

function parse(data) {
  if (data instanceof Uint8Array) return JSON.parse(new TextDecoder().decode(data));
  if (typeof data === "string") return JSON.parse(data);
  return data;
}

// The app's base URL (where /app/static/… is), from Streamlit's own bundle. This relies on a
// private detail of Streamlit's frontend (1.67): index.html loads the app as the module script
// "<base>/static/js/index.<hash>.js". If a release renames it, the base is guessed from the page's
// URL instead (right for "/" and "/lab", wrong behind a path prefix with a trailing slash), and
// the registry says so (reg.base.from = "page URL"): tests/browser/test_live_chart_health.py
// fails on that, so a rename is seen before it breaks a deployment.
const BUNDLE = 'script[type="module"][src*="/static/js/index."]';

function streamlitBase() {                       // -> {url, from}
  const s = document.querySelector(BUNDLE);
  if (s) return { url: new URL("../../", s.src).href, from: "Streamlit's bundle" };
  console.warn(`live_chart: no ${BUNDLE} (a Streamlit release renamed its bundle?); `
               + "the app's base URL is guessed from the page's URL");
  return { url: new URL("./", document.baseURI).href, from: "page URL" };
}

// ---------------------------------------------------------------- drawing in place

const DATA_KEYS = ["x", "y", "customdata", "text"];   // what may change for an in-place redraw
const IN_PLACE_TYPES = new Set(["scatter"]);          // the trace types tested in place
const PLAIN = /^[^<>&$]+$/;                           // a title plotly.js writes as it is

function same(a, b) {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function titleOf(layout) {
  const t = layout.title;
  return t && typeof t === "object" ? t : { text: t };
}

// How to go from figure `old` (on screen in graph div gd) to `now` without Plotly.react, or null
// where that cannot be done exactly: -> {traces: [index], data: [{x, y, …}], title: text | null}.
function inPlace(gd, old, now) {
  if (old === now || !same(old.config, now.config) || old.height !== now.height) return null;
  if ((old.frames || []).length || (now.frames || []).length) return null;
  if (old.data.length !== now.data.length) return null;
  const traces = [];                               // all of them: plotly.js removes the traces
  const data = [];                                 // of a subplot that has none in the frame
  for (let i = 0; i < now.data.length; i++) {
    const a = old.data[i];
    const b = now.data[i];
    const type = b.type || "scatter";
    if (!IN_PLACE_TYPES.has(type) || (a.type || "scatter") !== type) return null;
    if (type === "scatter" && !b.mode) return null;    // its default mode depends on the data
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (DATA_KEYS.includes(k) ? (k in a) !== (k in b) : !same(a[k], b[k])) return null;
    }
    const arrays = {};
    for (const k of DATA_KEYS) if (k in b) arrays[k] = b[k];
    traces.push(i);
    data.push(arrays);
  }
  let title = null;
  if (old.layout !== now.layout) {
    const { title: _a, ...la } = old.layout;
    const { title: _b, ...lb } = now.layout;
    if (!same(la, lb)) return null;
    const a = titleOf(old.layout);
    const b = titleOf(now.layout);
    if (!same({ ...a, text: null }, { ...b, text: null })) return null;
    if (a.text !== b.text) {
      if (!PLAIN.test(a.text || "") || !PLAIN.test(b.text || "")) return null;
      if (!gd.querySelector(".g-gtitle text.gtitle")) return null;
      title = b.text;
    }
  }
  const full = gd._fullLayout || {};               // axes that range on the data move with it
  for (const [k, ax] of Object.entries(full)) {
    if (/^[xy]axis\d*$/.test(k) && ax && ax.autorange) return null;
  }
  return { traces, data, title };
}

async function drawInPlace(Plotly, gd, plan) {
  if (plan.traces.length) {
    await Plotly.animate(gd, { data: plan.data, traces: plan.traces }, {
      mode: "immediate", transition: { duration: 0 }, frame: { duration: 0, redraw: false },
    });
  }
  if (plan.title !== null) {                       // plain text: what plotly.js itself writes
    const el = gd.querySelector(".g-gtitle text.gtitle");
    el.textContent = plan.title;
    el.setAttribute("data-unformatted", plan.title);
    for (const layout of [gd.layout, gd._fullLayout]) {
      if (layout.title && typeof layout.title === "object") layout.title.text = plan.title;
      else layout.title = { text: plan.title };
    }
  }
}

function makeRegistry() {
  const reg = {
    version: VERSION,
    charts: new Map(),
    plotly: null,                                // the loading promise, once per page
    plotlyLoads: 0,                              // <script> tags added for plotly.js (tests: 1)
    base: null,                                  // {url, from}: where plotly.js was loaded from
    failed: null,
    onFailed: null,                              // setStateValue of a mounted chart element
    queue: new Set(),                            // charts with something new to draw
    pumping: false,
    nextAt: 0,
  };

  reg.chart = function (key) {
    let ch = reg.charts.get(key);
    if (!ch) {
      const node = document.createElement("div");
      node.className = "bn-live-chart";
      node.dataset.testid = "bnLiveChart";
      node.dataset.key = key;
      ch = {
        key, node, epoch: null, figures: new Map(), state: null, held: [], plotted: false,
        dirty: false, drawn: null,                 // the state last drawn
        visible: !seen,
        stats: { delivered: 0, ignored: 0, fulls: 0, deltas: 0, draws: 0, inPlace: 0,
                 afterplots: 0, animated: 0, drawMs: [], drawAt: [], stale: false },
      };
      reg.charts.set(key, ch);
      if (seen) seen.observe(node);
    }
    return ch;
  };

  reg.loadPlotly = function (path) {
    if (reg.plotly) return reg.plotly;
    reg.base = streamlitBase();                  // first, also where Plotly is already there
    reg.plotly = new Promise((resolve, reject) => {
      if (window.Plotly && typeof window.Plotly.react === "function") {
        resolve(window.Plotly);
        return;
      }
      const url = new URL(path, reg.base.url).href;
      const s = document.createElement("script");
      s.src = url;
      s.async = true;
      s.dataset.bnLiveChart = "plotly";
      const timer = setTimeout(() => reject(new Error(`timed out loading ${url}`)),
                               PLOTLY_TIMEOUT_MS);
      s.addEventListener("load", () => {
        clearTimeout(timer);
        if (window.Plotly && typeof window.Plotly.react === "function") resolve(window.Plotly);
        else reject(new Error(`${url} loaded but defined no Plotly`));
      });
      s.addEventListener("error", () => {
        clearTimeout(timer);
        reject(new Error(`could not load ${url}`));
      });
      document.head.appendChild(s);
      reg.plotlyLoads += 1;
    });
    reg.plotly.catch((err) => reg.fail(err));
    return reg.plotly;
  };

  reg.fail = function (err) {                    // no plotly.js: say so in every chart, tell Python
    const reason = String(err && err.message ? err.message : err);
    if (reg.failed) return;
    reg.failed = reason;
    for (const ch of reg.charts.values()) showMessage(ch, FAILED);
    if (reg.onFailed) {
      try { reg.onFailed("failed", reason); } catch (e) { console.error("live_chart:", e); }
    }
  };

  // ---------------------------------------------------------------- messages -> state

  reg.deliver = function (raw) {                 // a message, or a batch of them (live_batch)
    const msg = parse(raw);
    if (msg.kind === "batch") msg.msgs.forEach(deliverOne);
    else deliverOne(msg);
  };

  function deliverOne(msg) {
    const ch = reg.chart(msg.key);
    ch.stats.delivered += 1;
    if (msg.keyframe) deliverOne(msg.keyframe);  // a full one sent again: ignored if it came
    if (msg.kind === "full" && msg.epoch !== ch.epoch) {   // a new stream (a new session)
      ch.epoch = msg.epoch;
      ch.figures = new Map();
      ch.state = null;
    }
    if (msg.epoch === ch.epoch && ch.figures.has(msg.seq)) {
      ch.stats.ignored += 1;                     // had it already
    } else if (msg.epoch === ch.epoch && (msg.kind === "full" || ch.figures.has(msg.base))) {
      store(ch, msg);
      for (let i = 0; i < ch.held.length; i++) { // held deltas whose base is here now
        const m = ch.held[i];
        if (m.epoch !== ch.epoch || ch.figures.has(m.seq)) {
          ch.held.splice(i, 1); i = -1;
        } else if (ch.figures.has(m.base)) {
          ch.held.splice(i, 1); i = -1;
          store(ch, m);
        }
      }
    } else {                                     // its base has not come (yet)
      ch.held.push(msg);
      if (ch.held.length > KEEP) ch.held.shift();
    }
    ch.stats.stale = ch.held.length > 0;
    schedule(ch);
  }

  // The figure of message m (a full one; or its base's, changed as the delta says), kept by seq
  // for the deltas to come; the chart's state if it is the newest.
  function store(ch, m) {
    let fig;
    if (m.kind === "full") {
      fig = {
        data: m.data.map(decodeTrace), layout: m.layout || {}, frames: m.frames || [],
        config: m.config || {}, height: m.height, plotlyPath: m.plotly,
      };
      ch.stats.fulls += 1;
    } else {
      const base = ch.figures.get(m.base);
      const data = base.data.slice();            // new trace objects: the base's stay intact
      for (const [i, trace] of Object.entries(m.replace || {})) data[Number(i)] = decodeTrace(trace);
      for (const [i, attrs] of Object.entries(m.patch || {})) {
        data[Number(i)] = { ...base.data[Number(i)], ...decodeTrace(attrs) };
      }
      for (const [i, cols] of Object.entries(m.extend || {})) {
        const trace = { ...base.data[Number(i)] };
        for (const [col, tail] of Object.entries(cols)) {
          trace[col] = concat(trace[col], decodeValue(tail));
        }
        data[Number(i)] = trace;
      }
      let layout = base.layout;
      if (m.layout) layout = { ...layout, ...m.layout };
      if (m.layout_del && m.layout_del.length) {
        layout = { ...layout };
        for (const k of m.layout_del) delete layout[k];
      }
      fig = { ...base, data, layout };
      ch.stats.deltas += 1;
    }
    ch.figures.set(m.seq, fig);
    if (ch.figures.size > KEEP) ch.figures.delete(Math.min(...ch.figures.keys()));
    if (!ch.state || m.seq > ch.state.seq) {
      ch.state = { ...fig, epoch: m.epoch, seq: m.seq };
      ch.dirty = true;
      ch.node.style.height = `${fig.height}px`;
    }
  }

  // ---------------------------------------------------------------- state -> screen

  // The charts on screen that have something new are drawn together, in one animation frame
  // (one layout and paint for all of them: in a software-rendered browser the paint costs about
  // as much as a chart), up to BATCH_MS of drawing per frame; the rest wait for the next frame.
  // Drawing may take at most DRAW_SHARE of the main thread (after a batch of d ms the next starts
  // d/DRAW_SHARE − d later): clicks (Pause) and Streamlit's own messages get the rest. Charts off
  // screen are not drawn until they scroll into view (their state keeps up; one draw catches
  // up). Charts are taken in the order they became due, so every chart on screen gets its turn.
  function schedule(ch) {
    if (!ch.dirty || !ch.state) return;
    reg.queue.add(ch);
    pump();
  }
  reg.schedule = schedule;

  const readyCharts = () => [...reg.queue].filter((c) => c.visible && c.node.isConnected);

  function pump() {
    if (reg.pumping) return;
    if (!readyCharts().length) return;           // waits for a message or a scroll
    reg.pumping = true;
    const wait = Math.max(0, reg.nextAt - performance.now());
    let done = false;
    const go = async () => {
      if (done) return;
      done = true;
      const start = performance.now();
      let spent = 0;
      for (const ch of readyCharts()) {
        if (spent >= BATCH_MS) break;
        reg.queue.delete(ch);
        spent += await draw(ch);                  // ms spent in plotly.js
      }
      reg.nextAt = performance.now() + (performance.now() - start) * (1 - DRAW_SHARE) / DRAW_SHARE;
      reg.pumping = false;
      pump();
    };
    setTimeout(() => {
      requestAnimationFrame(go);
      setTimeout(go, 250);                       // rAF does not fire in a hidden tab
    }, wait);
  }

  const seen = typeof IntersectionObserver === "function"
    ? new IntersectionObserver((entries) => {
      for (const e of entries) {
        const ch = reg.charts.get(e.target.dataset.key);
        if (!ch) continue;
        ch.visible = e.isIntersecting;
        if (ch.visible && ch.dirty) schedule(ch);
      }
    }, { rootMargin: "100px" })
    : null;

  async function draw(ch) {                      // -> ms spent drawing
    let ms = 0;
    if (!ch.node.isConnected || !ch.dirty || !ch.state) return ms;   // drawn when (re)attached
    if (reg.failed) { showMessage(ch, FAILED); return ms; }
    try {
      if (!ch.plotted) showMessage(ch, "Loading the chart…");
      const Plotly = await reg.loadPlotly(ch.state.plotlyPath);
      const st = ch.state;
      const t0 = performance.now();
      ch.dirty = false;
      hideMessage(ch);
      const plan = ch.plotted && ch.drawn ? inPlace(ch.node, ch.drawn, st) : null;
      if (plan) {
        await drawInPlace(Plotly, ch.node, plan);
        ch.stats.inPlace += 1;
      } else {
        await Plotly.react(ch.node, {            // copies: plotly.js writes into what it is given
          data: st.data.map((t) => ({ ...t })),
          layout: structuredClone(st.layout),
          frames: st.frames,
          config: { displaylogo: false, responsive: true, ...st.config },
        });
      }
      ch.drawn = st;
      if (!ch.plotted) {
        ch.plotted = true;
        ch.node.on("plotly_afterplot", () => { ch.stats.afterplots += 1; });
        ch.node.on("plotly_animated", () => { ch.stats.animated += 1; });
      }
      ms = performance.now() - t0;
      ch.stats.draws += 1;
      ch.stats.drawMs.push(ms);
      ch.stats.drawAt.push(t0);
      if (ch.stats.drawMs.length > 2000) {
        ch.stats.drawMs.splice(0, 1000);
        ch.stats.drawAt.splice(0, 1000);
      }
      ch.node.dataset.seq = String(st.seq);
    } catch (err) {
      ch.drawn = null;                           // the next draw is a whole one
      if (!reg.failed) {
        console.error("live_chart: drawing", ch.key, err);
        const why = err && err.message ? err.message : err;
        showMessage(ch, `This chart could not be drawn (${why}).`);
      }
      ch.dirty = false;                          // drawn again at the next message
    }
    if (ch.dirty) schedule(ch);                  // something came while it was drawn
    return ms;
  }

  function showMessage(ch, text) {
    let m = ch.node.querySelector(":scope > .bn-lc-msg");
    if (!m) {
      m = document.createElement("div");
      m.className = "bn-lc-msg";
      ch.node.appendChild(m);
    }
    m.textContent = text;
  }

  function hideMessage(ch) {
    const m = ch.node.querySelector(":scope > .bn-lc-msg");
    if (m) m.remove();
  }

  // ---------------------------------------------------------------- the chart element

  reg.mount = function (component) {
    const { data, parentElement, setStateValue } = component;
    if (setStateValue) reg.onFailed = setStateValue;
    let msg;
    try {
      msg = parse(data);
    } catch (err) {
      console.error("live_chart: bad message", err);
      return;
    }
    const ch = reg.chart(msg.key);
    if (ch.node.parentNode !== parentElement) {
      parentElement.appendChild(ch.node);        // the same chart <div>, wherever it is mounted
      if (ch.plotted && window.Plotly) {
        try { window.Plotly.Plots.resize(ch.node); } catch (e) { /* redrawn below anyway */ }
      }
    }
    if (!ch.plotted) showMessage(ch, reg.failed ? FAILED : "Loading the chart…");
    ch.node.style.height = `${msg.height}px`;
    reg.deliver(msg);
    if (ch.dirty) schedule(ch);
    reg.loadPlotly(msg.plotly);
  };

  return reg;
}

const R = (window.__bnLiveChart && window.__bnLiveChart.version === VERSION)
  ? window.__bnLiveChart : (window.__bnLiveChart = makeRegistry());

// Feeder messages that arrived before this module ran (see FEED_JS in live_chart.py).
const early = window.__bnLiveChartInbox || [];
window.__bnLiveChartInbox = [];
for (const raw of early) {
  try { R.deliver(raw); } catch (err) { console.error("live_chart: early message", err); }
}

export default function (component) {
  try {
    R.mount(component);
  } catch (err) {
    console.error("live_chart:", err);
    R.fail(err);
  }
}
