// Live Plotly chart for Streamlit components v2 (see live_chart.py, which inlines this module).
//
// One registry per browser page (window.__bnLiveChart) holds every live chart by its key: the
// chart's <div> (a Plotly graph div that is kept, never re-created), the figure as last
// received (the "state": data, layout, frames, config) and its sequence number. Messages come
// from two kinds of elements:
//   - the chart element (mounted once per script run, same key across runs: React keeps it), whose
//     message is always a whole figure ("full");
//   - hidden feeder elements (one per later update in the run, or per live_batch), whose message
//     is usually a "delta" against the previous message of the same chart: new points of line
//     traces (applied with Plotly.extendTraces), changed or replaced traces and changed layout
//     keys (Plotly.react).
// Messages can arrive out of order (a feeder before its chart element) and a delta can wait for
// the one before it: `pending` holds them until they apply. Drawing happens at most once per
// animation frame per chart, from the state, so a burst of messages costs one redraw.
// plotly.js is loaded once per page, with a <script> tag, from the installed plotly package
// (served by this Streamlit server, no CDN).

const VERSION = 1;
const MAX_PENDING = 64;
const PLOTLY_TIMEOUT_MS = 30000;
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

function streamlitBase() {                       // the app's base URL, from Streamlit's own bundle
  const s = document.querySelector('script[type="module"][src*="/static/js/index."]');
  return s ? new URL("../../", s.src).href : new URL("./", document.baseURI).href;
}

function makeRegistry() {
  const reg = {
    version: VERSION,
    charts: new Map(),
    plotly: null,                                // the loading promise, once per page
    plotlyLoads: 0,                              // <script> tags added for plotly.js (tests: 1)
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
        key, node, state: null, pending: [], plotted: false, dirty: null, ext: null,
        visible: !seen,
        stats: { delivered: 0, applied: 0, ignored: 0, waited: 0, fulls: 0, deltas: 0,
                 draws: 0, reacts: 0, extends: 0, afterplots: 0, drawMs: [], stale: false },
      };
      reg.charts.set(key, ch);
      if (seen) seen.observe(node);
    }
    return ch;
  };

  reg.loadPlotly = function (path) {
    if (reg.plotly) return reg.plotly;
    reg.plotly = new Promise((resolve, reject) => {
      if (window.Plotly && typeof window.Plotly.react === "function") {
        resolve(window.Plotly);
        return;
      }
      const url = new URL(path, streamlitBase()).href;
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
    ch.pending.push(msg);
    let progressed = true;
    while (progressed) {                         // apply whatever can be applied, in seq order
      progressed = false;
      ch.pending.sort((a, b) => a.seq - b.seq);
      for (let i = 0; i < ch.pending.length; i++) {
        const m = ch.pending[i];
        const st = ch.state;
        const current = st && st.epoch === m.epoch;
        if (current && m.seq <= st.seq) {        // already shown (or older): drop
          ch.pending.splice(i, 1); i -= 1; ch.stats.ignored += 1;
          continue;
        }
        if (m.kind === "full") { applyFull(ch, m); }
        else if (current && m.base === st.seq) { applyDelta(ch, m); }
        else continue;                           // waits for the message before it
        ch.pending.splice(i, 1);
        ch.stats.applied += 1;
        progressed = true;
        break;
      }
    }
    if (ch.pending.length > MAX_PENDING) ch.pending.splice(0, ch.pending.length - MAX_PENDING);
    ch.stats.waited = ch.pending.length;
    ch.stats.stale = ch.pending.length > 0;      // a delta whose base never came: until a full one
    schedule(ch);
  }

  function applyFull(ch, m) {
    ch.state = {
      epoch: m.epoch, seq: m.seq, data: m.data.map(decodeTrace), layout: m.layout || {},
      frames: m.frames || [], config: m.config || {}, height: m.height, plotlyPath: m.plotly,
    };
    ch.stats.fulls += 1;
    ch.dirty = "react";
    ch.ext = null;
    ch.node.style.height = `${m.height}px`;
  }

  function applyDelta(ch, m) {
    const st = ch.state;
    let react = ch.dirty === "react" || ch.forceReact;
    for (const [i, trace] of Object.entries(m.replace || {})) {
      st.data[Number(i)] = decodeTrace(trace);
      react = true;
    }
    for (const [i, attrs] of Object.entries(m.patch || {})) {
      st.data[Number(i)] = { ...st.data[Number(i)], ...decodeTrace(attrs) };
      react = true;
    }
    const ext = react ? null : (ch.ext || new Map());
    for (const [i, cols] of Object.entries(m.extend || {})) {
      const idx = Number(i);
      const trace = { ...st.data[idx] };         // a new trace object: the drawn one stays intact
      for (const [col, tail] of Object.entries(cols)) {
        const add = decodeValue(tail);
        trace[col] = concat(trace[col], add);
        if (ext) {
          const e = ext.get(idx) || {};
          e[col] = e[col] ? concat(e[col], add) : add;
          ext.set(idx, e);
        }
      }
      st.data[idx] = trace;
    }
    if (m.layout && Object.keys(m.layout).length) {
      st.layout = { ...st.layout, ...m.layout };
      react = true;
    }
    if (m.layout_del && m.layout_del.length) {
      st.layout = { ...st.layout };
      for (const k of m.layout_del) delete st.layout[k];
      react = true;
    }
    st.seq = m.seq;
    ch.stats.deltas += 1;
    if (react) { ch.dirty = "react"; ch.ext = null; }
    else if (ext && ext.size) { ch.dirty = ch.dirty || "extend"; ch.ext = ext; }
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
      if (ch.dirty === "extend" && ch.plotted && ch.ext && sameColumns(ch.ext)) {
        const indices = [...ch.ext.keys()];
        const update = {};
        for (const col of Object.keys(ch.ext.get(indices[0]))) {
          update[col] = indices.map((i) => ch.ext.get(i)[col]);
        }
        ch.dirty = null; ch.ext = null;
        await Plotly.extendTraces(ch.node, update, indices);
        ch.stats.extends += 1;
      } else {
        ch.dirty = null; ch.ext = null; ch.forceReact = false;
        hideMessage(ch);
        const config = { displaylogo: false, responsive: true, ...st.config };
        await Plotly.react(ch.node, {
          data: st.data.map((t) => ({ ...t })),
          layout: structuredClone(st.layout),
          frames: st.frames,
          config,
        });
        ch.stats.reacts += 1;
        if (!ch.plotted) {
          ch.plotted = true;
          ch.node.on("plotly_afterplot", () => { ch.stats.afterplots += 1; });
        }
      }
      ms = performance.now() - t0;
      ch.stats.draws += 1;
      ch.stats.drawMs.push(ms);
      if (ch.stats.drawMs.length > 2000) ch.stats.drawMs.splice(0, 1000);
      ch.node.dataset.seq = String(st.seq);
    } catch (err) {
      if (!reg.failed) {
        console.error("live_chart: drawing", ch.key, err);
        const why = err && err.message ? err.message : err;
        showMessage(ch, `This chart could not be drawn (${why}).`);
      }
      ch.dirty = null;
      ch.forceReact = true;                      // drawn whole at the next message
    }
    if (ch.dirty) schedule(ch);                  // something came while it was drawn
    return ms;
  }

  function sameColumns(ext) {
    let cols = null;
    for (const e of ext.values()) {
      const c = Object.keys(e).sort().join(",");
      if (cols === null) cols = c;
      else if (c !== cols) return false;
    }
    return cols !== null;
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
