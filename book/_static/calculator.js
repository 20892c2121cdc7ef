// The calculator page (book/calculator.md): runs vlmlab's own `vlmlab profile` in Pyodide.
// Pyodide and vlmlab-analytic.zip are copied into _static/ by tools/vendor_assets.py at
// `make book` time; nothing is loaded from another host. The page shows exactly what the
// command line prints: its JSON in #vlmlab-result, or its one-line error in #vlmlab-error.
(function () {
  "use strict";
  const STATIC = new URL(".", document.currentScript.src).href;
  const FIELDS = ["lm", "frontend", "gpu", "image", "frames", "prompt_tokens", "new_tokens",
                  "batch", "dtype", "price"];
  const SIDES = [224, 336, 448, 560, 672, 896, 1024, 1344, 1536, 2048, 2688, 3072, 4096];
  const $ = (id) => document.getElementById(id);
  let py = null;
  // Milliseconds since navigation at each step of start-up (read by tests/test_calculator_page.py).
  const times = window.__vlmlabTimes = {};
  const mark = (name) => { times[name] = Math.round(performance.now()); };

  // A link means what the same flags mean on the command line: what it leaves out takes the
  // command line's default (``defaults`` from vlmlab.profile.web.choices: no LM, no front-end),
  // not the form's suggestions.
  function fillFromQuery(form, defaults) {
    const q = new URLSearchParams(window.location.search);
    if (!FIELDS.some((name) => q.has(name))) return false;
    for (const name of FIELDS) {
      const values = q.getAll(name);
      form.elements[name].value = !values.length ? (defaults[name] ?? "")
        : name === "image" ? values.join(",") : values[0];
    }
    return true;
  }

  function argv(form) {
    const v = (name) => form.elements[name].value.trim();
    const args = ["profile", "--format", "json"];
    if (v("lm")) args.push("--lm", v("lm"));
    if (v("frontend")) args.push("--frontend", v("frontend"));
    for (const im of v("image").split(/[,;\s]+/).filter(Boolean)) args.push("--image", im);
    const opt = {gpu: "--gpu", frames: "--frames", prompt_tokens: "--prompt-tokens",
                 new_tokens: "--new-tokens", batch: "--batch", dtype: "--dtype", price: "--price"};
    for (const [name, flag] of Object.entries(opt)) if (v(name)) args.push(flag, v(name));
    return args;
  }

  function shareLink(form) {
    const q = new URLSearchParams();
    for (const name of FIELDS) {
      const value = form.elements[name].value.trim();
      if (value) q.set(name, value);
    }
    const url = window.location.pathname + "?" + q.toString();
    window.history.replaceState(null, "", url);
    $("vlmlab-link").innerHTML = "";
    const a = document.createElement("a");
    a.href = url;
    a.textContent = "link to this result";
    $("vlmlab-link").append(" (", a, ")");
  }

  const fmt = {
    count: (x) => Number(x).toLocaleString("en-US"),
    pct: (x) => (100 * x).toFixed(1) + "%",
    s: (x) => x == null ? "–" : x >= 1 ? x.toFixed(2) + " s" : (1e3 * x).toFixed(2) + " ms",
    bytes: (x) => x >= 2 ** 30 ? (x / 2 ** 30).toFixed(1) + " GiB" : (x / 2 ** 20).toFixed(1) + " MiB",
    flops: (x) => (x / 1e12).toFixed(1) + " TFLOP",
    num: (x, d) => x == null ? "–" : x.toFixed(d),
  };

  function table(rec) {
    const t = $("vlmlab-table");
    t.innerHTML = "";
    const row = (cells, tag) => {
      const tr = document.createElement("tr");
      for (const c of cells) {
        const td = document.createElement(tag || "td");
        td.textContent = c;
        tr.append(td);
      }
      t.append(tr);
    };
    if (rec.hosted) {
      row(["front-end", "visual tokens", "sequence", "share of window", "window"], "th");
      row([rec.frontend + " (" + rec.vendor + ", billing count)", fmt.count(rec.visual_tokens),
           fmt.count(rec.sequence_tokens), fmt.pct(rec.context_share), fmt.count(rec.context_window)]);
      return;
    }
    row(["design", "visual tokens", "share of window", "prefill (batch 1)", "decode / token",
         "KV cache", "max batch", "images/s", "$ / 1,000 images"], "th");
    const designs = [Object.assign({design: rec.frontend + " (as is)"}, rec)].concat(rec.alternatives);
    for (const d of designs) {
      row([d.design, fmt.count(d.visual_tokens), fmt.pct(d.context_share), fmt.s(d.prefill_seconds),
           fmt.s(d.decode_seconds_per_token), fmt.bytes(d.kv_cache_bytes), fmt.count(d.max_batch),
           fmt.num(d.images_per_second, 2), d.dollars_per_1000_images == null ? "–"
             : "$" + d.dollars_per_1000_images.toFixed(3)]);
    }
  }

  // Two stacked log-log panels drawn as plain SVG: tokens, then prefill seconds, vs side.
  function plot(points) {
    const svg = $("vlmlab-plot");
    const NS = "http://www.w3.org/2000/svg";
    svg.innerHTML = "";
    const el = (tag, attrs, text) => {
      const e = document.createElementNS(NS, tag);
      for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
      if (text != null) e.textContent = text;
      svg.append(e);
      return e;
    };
    const panels = [["visual_tokens", "visual tokens", "#0072B2", (v) => fmt.count(Math.round(v))],
                    ["prefill_seconds", "prefill (s)", "#D55E00", (v) => v.toPrecision(2)]];
    const W = 720, H = 200, L = 80, R = 20, top0 = 20, gap = 30;
    const x0 = Math.log(points[0].side), x1 = Math.log(points[points.length - 1].side);
    const X = (s) => L + (W - L - R) * (Math.log(s) - x0) / (x1 - x0 || 1);
    panels.forEach(([key, label, colour, tick], i) => {
      const pts = points.filter((p) => p[key] != null && p[key] > 0);
      const top = top0 + i * (H + gap), bottom = top + H - 30;
      el("line", {x1: L, y1: bottom, x2: W - R, y2: bottom, stroke: "#444"});
      el("line", {x1: L, y1: top, x2: L, y2: bottom, stroke: "#444"});
      el("text", {x: 10, y: top + 8, "font-size": 12, "font-weight": "bold"}, label);
      if (!pts.length) {
        el("text", {x: L + 20, y: (top + bottom) / 2, "font-size": 12}, "not computed for this front-end");
        return;
      }
      const vs = pts.map((p) => Math.log(p[key]));
      const lo = Math.min(...vs), hi = Math.max(...vs);
      const Y = (v) => bottom - (bottom - top - 26) * (Math.log(v) - lo) / (hi - lo || 1);  // title above
      el("polyline", {fill: "none", stroke: colour, "stroke-width": 2,
                      points: pts.map((p) => X(p.side) + "," + Y(p[key])).join(" ")});
      for (const p of pts) el("circle", {cx: X(p.side), cy: Y(p[key]), r: 3, fill: colour});
      el("text", {x: L - 6, y: Y(Math.exp(hi)) + 4, "font-size": 11, "text-anchor": "end"}, tick(Math.exp(hi)));
      el("text", {x: L - 6, y: Y(Math.exp(lo)) + 4, "font-size": 11, "text-anchor": "end"}, tick(Math.exp(lo)));
      for (const s of [224, 448, 1024, 2048, 4096]) {
        el("text", {x: X(s), y: bottom + 16, "font-size": 11, "text-anchor": "middle"}, String(s));
      }
    });
    el("text", {x: W / 2, y: top0 + 2 * H + gap + 4, "font-size": 12, "text-anchor": "middle"},
       "image side (px), square image");
  }

  function compute() {
    const form = $("vlmlab-form");
    const args = argv(form);
    const res = JSON.parse(py.globals.get("_vlmlab_web").run(py.toPy(args)));
    shareLink(form);
    if (res.rc !== 0) {
      $("vlmlab-error").textContent = res.err.trim();
      $("vlmlab-tokens").textContent = "";
      $("vlmlab-result").textContent = "";
      $("vlmlab-table").innerHTML = "";
      $("vlmlab-plot").innerHTML = "";
      return;
    }
    $("vlmlab-error").textContent = "";
    const rec = JSON.parse(res.out);
    $("vlmlab-result").textContent = res.out;
    $("vlmlab-tokens").textContent = fmt.count(rec.visual_tokens);
    table(rec);
    const sweepArgs = args.filter((a, i) => a !== "--image" && args[i - 1] !== "--image");
    plot(JSON.parse(py.globals.get("_vlmlab_web").sweep(py.toPy(sweepArgs), py.toPy(SIDES))));
  }

  // Python (Pyodide, about 13 MB) is fetched only when it is needed: at once for a link with
  // query parameters, else when the reader first touches the form, so that paging through the
  // book never downloads it.
  let loading = null;

  function load() {
    if (!loading) loading = boot();
    return loading;
  }

  async function boot() {
    const status = $("vlmlab-status");
    status.textContent = "Loading Python (Pyodide)…";
    status.dataset.state = "loading";
    await new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = STATIC + "pyodide/pyodide.js";
      s.onload = resolve;
      s.onerror = () => reject(new Error("could not load " + s.src));
      document.head.append(s);
    });
    mark("pyodide.js");
    const [pyodide, zip] = await Promise.all([
      loadPyodide({indexURL: STATIC + "pyodide/", fullStdLib: false}),
      fetch(STATIC + "vlmlab-analytic.zip").then((r) => r.arrayBuffer()),
    ]);
    mark("pyodide");
    pyodide.unpackArchive(zip, "zip", {extractDir: "/home/pyodide/vlmlab-src"});
    pyodide.runPython("import sys; sys.path.insert(0, '/home/pyodide/vlmlab-src')\n" +
                      "from vlmlab.profile import web as _vlmlab_web");
    py = pyodide;
    const names = JSON.parse(py.globals.get("_vlmlab_web").choices());
    for (const key of ["lm", "frontend", "gpu"]) {
      const dl = $("vlmlab-" + key + "s");
      for (const n of names[key]) {
        const o = document.createElement("option");
        o.value = n;
        dl.append(o);
      }
    }
    mark("python");
    status.textContent = "Ready: Python " + py.runPython("import sys; sys.version.split()[0]") +
                         " in your browser.";
    if (!new URLSearchParams(window.location.search).toString()) status.dataset.state = "ready";
    return names.defaults;
  }

  function failed(e) {
    const status = $("vlmlab-status");
    status.textContent = "The calculator could not start: " + e.message;
    status.dataset.state = "failed";
  }

  function start() {
    const form = $("vlmlab-form");
    const status = $("vlmlab-status");
    const button = $("vlmlab-compute");
    button.disabled = false;
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      load().then(() => compute()).catch(failed);
    });
    for (const type of ["focusin", "pointerdown"]) {
      form.addEventListener(type, () => { load().catch(failed); }, {once: true});
    }
    if (!FIELDS.some((name) => new URLSearchParams(window.location.search).has(name))) {
      status.textContent = "Python (Pyodide, about 13 MB, from this book) loads when you use the form.";
      status.dataset.state = "idle";
      return;
    }
    load().then((defaults) => {
      fillFromQuery(form, defaults);
      compute();
      mark("computed");
      status.dataset.state = "ready";
    }).catch(failed);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
