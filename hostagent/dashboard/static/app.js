// Berth's dashboard. No framework, no build step, nothing from the
// internet: the agent serves this file from the berth binary. The page
// never polls: /api/events pushes the agent's events and a "containers"
// event whenever the engine's containers change.
"use strict";

const $ = (sel, el = document) => el.querySelector(sel);
const h = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) e.append(k);
  return e;
};

const state = { groups: [], machine: null, filter: "", selected: null, phases: [] };

async function api(method, path, body) {
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.body = JSON.stringify(body);
    opts.headers["Content-Type"] = "application/json";
  }
  const r = await fetch(path, opts);
  if (!r.ok) {
    let msg = r.status + " " + r.statusText;
    try { const j = await r.json(); if (j.message) msg = j.message; } catch (_) {}
    const err = new Error(msg);
    err.status = r.status;
    throw err;
  }
  return r.status === 204 ? null : r.json();
}

function toast(msg) {
  const t = $("#toast");
  t.textContent = msg;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 6000);
}

// ---- views ----

function showView() {
  const v = (location.hash || "#containers").slice(1);
  for (const s of document.querySelectorAll(".view")) s.hidden = s.id !== "view-" + v;
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.view === v);
}

// ---- the live stream ----

function connect() {
  const es = new EventSource("/api/events");
  es.onopen = () => $("#conn").classList.add("live");
  es.onerror = () => $("#conn").classList.remove("live"); // EventSource reconnects by itself
  es.addEventListener("status", (e) => setMachine(JSON.parse(e.data).status));
  es.addEventListener("containers", () => loadContainers());
  es.addEventListener("forward", () => loadForwards());
  es.addEventListener("resources", () => loadResources());
}

// ---- containers ----

let loading = null, again = false;
async function loadContainers() {
  if (loading) { again = true; return; } // one list at a time; one more after it
  loading = (async () => {
    try {
      state.groups = await api("GET", "/api/containers");
      $("#engine-error").hidden = true;
    } catch (e) {
      // A stopped machine's banner says why already.
      const stopped = state.machine && (state.machine.state === "stopped" || state.machine.state === "error");
      $("#engine-error").textContent = "The engine does not answer: " + e.message;
      $("#engine-error").hidden = stopped;
      state.groups = [];
    }
    renderContainers();
  })();
  await loading;
  loading = null;
  if (again) { again = false; loadContainers(); }
}

function ago(unix) {
  const s = Math.max(0, Date.now() / 1000 - unix);
  if (s < 60) return Math.floor(s) + "s ago";
  if (s < 3600) return Math.floor(s / 60) + "m ago";
  if (s < 86400) return Math.floor(s / 3600) + "h ago";
  return Math.floor(s / 86400) + "d ago";
}

function portCell(c) {
  return (c.ports || []).map((p) => {
    const text = (p.hostIP && p.hostIP !== "0.0.0.0" && p.hostIP !== "::" ? p.hostIP + ":" : "") +
      p.hostPort + "→" + p.containerPort + (p.proto === "tcp" ? "" : "/" + p.proto);
    return p.url
      ? h("a", { href: p.url, target: "_blank", rel: "noopener noreferrer", class: "port", title: "Open " + p.url }, text, " ")
      : h("span", { class: "port" }, text, " ");
  });
}

function actionButtons(c) {
  const running = c.state === "running" || c.state === "restarting" || c.state === "paused";
  const b = (action, label, cls) => h("button", { "data-action": action, class: cls, title: label + " " + c.name,
    onclick: (e) => { e.stopPropagation(); act(c, action); } }, label);
  return [running ? b("stop", "Stop") : b("start", "Start"), b("restart", "Restart"), b("remove", "Remove", "danger")];
}

function renderContainers() {
  const f = state.filter.toLowerCase();
  const body = $("#containers tbody");
  const frag = document.createDocumentFragment();
  let n = 0;
  for (const g of state.groups) {
    const cs = g.containers.filter((c) => !f || c.name.toLowerCase().includes(f) || c.image.toLowerCase().includes(f));
    if (!cs.length) continue;
    if (g.project) {
      const up = cs.filter((c) => c.state === "running").length;
      frag.append(h("tr", { class: "group", "data-project": g.project },
        h("td", { colspan: 6 }, "▾ " + g.project + " ", h("span", { class: "muted" }, `(${up}/${cs.length} running)`))));
    }
    for (const c of cs) {
      n++;
      frag.append(h("tr", { class: "ctr", "data-name": c.name, "data-id": c.id, onclick: () => openPanel(c) },
        h("td", {}, c.service && g.project ? c.service + " " : "", h("span", { class: c.service ? "muted" : "" }, c.name)),
        h("td", {}, c.image),
        h("td", {}, h("span", { class: "state " + c.state }, c.state),
          c.health ? h("span", { class: "health " + c.health }, c.health) : null,
          h("div", { class: "muted status" }, c.status)),
        h("td", { class: "ports" }, portCell(c)),
        h("td", { class: "muted", title: new Date(c.created * 1000).toLocaleString() }, ago(c.created)),
        h("td", { class: "row-actions" }, actionButtons(c))));
    }
  }
  body.replaceChildren(frag);
  $("#count").textContent = n + " container" + (n === 1 ? "" : "s");
  $("#no-containers").hidden = n > 0 || !$("#engine-error").hidden;
}

function confirmDialog(text, okLabel) {
  const d = $("#confirm");
  $("#confirm-text").textContent = text;
  $("#confirm-ok").textContent = okLabel;
  d.returnValue = "";
  d.showModal();
  return new Promise((resolve) => d.addEventListener("close", () => resolve(d.returnValue === "ok"), { once: true }));
}

async function act(c, action) {
  try {
    if (action === "remove") {
      if (!(await confirmDialog(`Remove the container ${c.name}? ${c.state === "running" ? "It is running: it will be killed. " : ""}This cannot be undone.`, "Remove"))) return;
      await api("DELETE", "/api/containers/" + encodeURIComponent(c.id));
      if (state.selected && state.selected.id === c.id) closePanel();
    } else {
      await api("POST", `/api/containers/${encodeURIComponent(c.id)}/${action}`);
    }
  } catch (e) {
    toast(`${action} ${c.name}: ${e.message}`);
  }
}

// ---- the side panel: logs and inspect ----

function openPanel(c) {
  closePanel();
  state.selected = c;
  $("#panel-title").textContent = c.name;
  $("#panel").hidden = false;
  for (const b of document.querySelectorAll(".tabs button")) b.hidden = c.vm && b.dataset.tab !== "terminal";
  showTab(c.vm ? "terminal" : "logs");
}

function closePanel() {
  logs.stop();
  term.close();
  state.selected = null;
  $("#panel").hidden = true;
}

function showTab(tab) {
  for (const b of document.querySelectorAll(".tabs button")) b.classList.toggle("active", b.dataset.tab === tab);
  $("#tab-logs").hidden = tab !== "logs";
  $("#tab-inspect").hidden = tab !== "inspect";
  $("#tab-terminal").hidden = tab !== "terminal";
  const c = state.selected;
  if (!c) return;
  if (tab === "terminal") term.open(c.vm ? null : c.id); else term.close();
  if (tab === "logs" && !logs.es) logs.start(c.id);
  if (tab === "inspect") loadInspect(c.id);
}

// splitTS separates the engine's timestamp from the line.
function splitTS(raw) {
  const sp = raw.indexOf(" ");
  if (sp === 30 || (sp > 19 && sp < 40 && raw[4] === "-" && raw[10] === "T")) return { ts: raw.slice(0, sp), text: raw.slice(sp + 1) };
  return { ts: "", text: raw };
}

// A virtual list: every line is kept (up to LOG_CAP), only the visible ones
// are in the DOM, so 100k lines cost what 50 do.
const LINE_H = 18, LOG_CAP = 200000;
const logs = {
  lines: [], view: null, es: null, query: "", raf: 0,
  start(id) {
    this.lines = []; this.view = null;
    this.es = new EventSource(`/api/containers/${encodeURIComponent(id)}/logs?tail=100000`);
    this.es.addEventListener("lines", (e) => this.add(JSON.parse(e.data)));
    this.es.addEventListener("end", () => { this.es && this.es.close(); this.es = null; });
    this.schedule();
  },
  stop() { if (this.es) this.es.close(); this.es = null; this.lines = []; this.view = null; },
  // Lines are kept as the engine sent them; the timestamp is split off
  // only for the lines drawn.
  add(batch) {
    for (const raw of batch) this.lines.push(raw);
    if (this.lines.length > LOG_CAP) this.lines.splice(0, this.lines.length - LOG_CAP);
    if (this.query) this.view = null; // refilter
    this.schedule();
  },
  setQuery(q) { this.query = q; this.view = null; this.schedule(); },
  visible() {
    if (!this.query) return this.lines;
    if (!this.view) {
      const q = this.query.toLowerCase();
      this.view = this.lines.filter((l) => splitTS(l).text.toLowerCase().includes(q));
    }
    return this.view;
  },
  schedule() { if (!this.raf) this.raf = requestAnimationFrame(() => { this.raf = 0; this.render(); }); },
  render() {
    const box = $("#log-view"), rows = $("#log-rows"), list = this.visible();
    $("#log-spacer").style.height = list.length * LINE_H + "px";
    if ($("#log-follow").checked) box.scrollTop = box.scrollHeight;
    const first = Math.max(0, Math.floor(box.scrollTop / LINE_H) - 5);
    const last = Math.min(list.length, first + Math.ceil(box.clientHeight / LINE_H) + 10);
    rows.style.transform = `translateY(${first * LINE_H}px)`;
    const showTs = $("#log-ts").checked, q = this.query.toLowerCase();
    const frag = document.createDocumentFragment();
    for (let i = first; i < last; i++) {
      const l = splitTS(list[i]);
      const row = h("div", { "data-line": i }, showTs && l.ts ? h("span", { class: "ts" }, l.ts) : null);
      if (q) {
        const at = l.text.toLowerCase().indexOf(q);
        row.append(l.text.slice(0, at), h("mark", {}, l.text.slice(at, at + q.length)), l.text.slice(at + q.length));
      } else row.append(l.text);
      frag.append(row);
    }
    rows.replaceChildren(frag);
    $("#log-count").textContent = (q ? list.length + " of " : "") + this.lines.length + " lines";
  },
};

// The terminal: a shell in the container on a pty (the engine's exec),
// over a WebSocket, drawn by xterm.js (vendor/xterm, served from the binary).
const CELL_W = 7.8, CELL_H = 17;
// xterm.js is loaded when a terminal is first opened: the first paint does
// not wait for its 300 kB.
let xtermLoaded = null;
function loadXterm() {
  if (!xtermLoaded) {
    xtermLoaded = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = "vendor/xterm/xterm.js";
      s.onload = resolve;
      s.onerror = () => { xtermLoaded = null; reject(new Error("could not load the terminal")); };
      document.head.append(s);
    });
  }
  return xtermLoaded;
}

const term = {
  t: null, ws: null, want: null,
  // open connects to a container's shell, or with id null to the VM's.
  async open(id) {
    this.close();
    const path = id === null ? "/api/machine/shell" : `/api/containers/${encodeURIComponent(id)}/exec`;
    this.want = path;
    try { await loadXterm(); } catch (e) { toast(e.message); return; }
    if (this.want !== path) return; // closed or another one opened meanwhile
    const box = $("#terminal");
    box.replaceChildren();
    const t = new Terminal({ fontSize: 13, cursorBlink: true, scrollback: 5000 });
    t.open(box);
    const ws = new WebSocket(`ws://${location.host}${path}`);
    ws.binaryType = "arraybuffer";
    ws.onmessage = (e) => t.write(new Uint8Array(e.data));
    ws.onclose = (e) => { if (this.ws === ws) t.write(`\r\n\x1b[2m[${e.reason || "disconnected"}]\x1b[0m\r\n`); };
    const send = (m) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m)); };
    t.onData((d) => send({ i: d }));
    const fit = () => {
      const cols = Math.max(20, Math.floor((box.clientWidth - 8) / CELL_W)), rows = Math.max(5, Math.floor((box.clientHeight - 8) / CELL_H));
      t.resize(cols, rows);
      send({ cols, rows });
    };
    ws.onopen = fit;
    this.ro = new ResizeObserver(fit);
    this.ro.observe(box);
    this.t = t; this.ws = ws;
    t.focus();
  },
  close() {
    this.want = null;
    if (this.ro) this.ro.disconnect();
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
    if (this.t) this.t.dispose();
    this.t = null; this.ro = null;
  },
};

// Inspect: the engine's JSON as a tree, every object folded but the top.
async function loadInspect(id) {
  const box = $("#inspect");
  box.replaceChildren("…");
  try {
    const j = await api("GET", `/api/containers/${encodeURIComponent(id)}/inspect`);
    box.replaceChildren(jsonTree(j, null, true));
  } catch (e) {
    box.replaceChildren(h("div", { class: "error" }, e.message));
  }
}

function jsonTree(v, key, open) {
  const label = key === null ? [] : [h("span", { class: "k" }, JSON.stringify(key)), ": "];
  if (v !== null && typeof v === "object") {
    const entries = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
    const sum = Array.isArray(v) ? `[${entries.length}]` : `{${entries.length}}`;
    const d = h("details", { open }, h("summary", {}, ...label, h("span", { class: "muted" }, sum)));
    // Children are built when first opened: a large inspect stays quick.
    const fill = () => { if (d.childElementCount === 1) for (const [k, x] of entries) d.append(jsonTree(x, k, false)); };
    if (open) fill(); else d.addEventListener("toggle", fill, { once: true });
    return d;
  }
  const cls = typeof v === "string" ? "s" : typeof v === "number" ? "n" : "b";
  return h("div", { class: "leaf" }, ...label, h("span", { class: cls }, JSON.stringify(v)));
}

// ---- images, volumes, networks, disk usage ----

function size(n) {
  if (n < 0) return "?";
  const u = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return (i ? n.toFixed(n < 10 ? 2 : 1) : n) + " " + u[i];
}

const shortID = (id) => id.replace(/^sha256:/, "").slice(0, 12);

let resLoading = false, resAgain = false;
async function loadResources() {
  if (resLoading) { resAgain = true; return; }
  resLoading = true;
  try {
    const [ims, vols, nets, df] = await Promise.all([api("GET", "/api/images"), api("GET", "/api/volumes"),
      api("GET", "/api/networks"), api("GET", "/api/df")]);
    renderImages(ims); renderVolumes(vols); renderNetworks(nets); renderDF(df);
  } catch (e) { /* the engine is not up: the containers view says so */ }
  resLoading = false;
  if (resAgain) { resAgain = false; loadResources(); }
}

function renderImages(ims) {
  $("#images tbody").replaceChildren(...ims.map((im) => h("tr", { "data-image": shortID(im.id), "data-tags": im.tags.join(" ") },
    h("td", {}, im.tags.length ? im.tags.join(", ") : h("span", { class: "muted" }, "<none>")),
    h("td", { class: "muted" }, shortID(im.id)), h("td", { class: "size" }, size(im.size)), h("td", { class: "muted" }, ago(im.created)),
    h("td", {}, im.usedBy.join(", ") || h("span", { class: "muted" }, "-")),
    h("td", { class: "row-actions" }, h("button", { class: "danger", "data-action": "remove", onclick: async () => {
      const name = im.tags[0] || shortID(im.id);
      if (!(await confirmDialog(`Remove the image ${name} (${size(im.size)})?` + (im.usedBy.length ? ` Containers use it: ${im.usedBy.join(", ")}.` : ""), "Remove"))) return;
      try { await api("DELETE", "/api/images/" + encodeURIComponent(im.id)); toast(`Removed ${name}.`); } catch (e) { toast(e.message); }
      loadResources();
    } }, "Remove")))));
  $("#images-count").textContent = ims.length + " images, " + size(ims.reduce((a, im) => a + im.size, 0));
}

function renderVolumes(vols) {
  $("#volumes tbody").replaceChildren(...vols.map((v) => h("tr", { "data-volume": v.name },
    h("td", {}, v.name), h("td", {}, v.driver), h("td", { class: "size" }, size(v.size)),
    h("td", {}, v.usedBy.join(", ") || h("span", { class: "muted" }, "-")),
    h("td", { class: "row-actions" }, h("button", { class: "danger", "data-action": "remove", onclick: async () => {
      if (!(await confirmDialog(`Remove the volume ${v.name} and its data (${size(v.size)})?`, "Remove"))) return;
      try { await api("DELETE", "/api/volumes/" + encodeURIComponent(v.name)); } catch (e) { toast(e.message); }
      loadResources();
    } }, "Remove")))));
  $("#volumes-count").textContent = vols.length + " volumes";
}

function renderNetworks(nets) {
  $("#networks tbody").replaceChildren(...nets.map((n) => h("tr", { "data-network": n.name },
    h("td", {}, n.name + (n.internal ? " (internal)" : "")), h("td", {}, n.driver), h("td", {}, n.scope),
    h("td", {}, n.subnets.join(", ")), h("td", { class: "muted" }, shortID(n.id)))));
}

function renderDF(df) {
  $("#df tbody").replaceChildren(...df.rows.map((r) => h("tr", { "data-type": r.type },
    h("td", {}, r.type), h("td", {}, String(r.total)), h("td", {}, String(r.active)),
    h("td", { class: "size" }, size(r.size)),
    h("td", {}, size(r.reclaimable) + (r.size > 0 ? ` (${Math.round(100 * r.reclaimable / r.size)}%)` : "")))));
  $("#host-disk").textContent = df.hostDiskSize
    ? `The data disk takes ${size(df.hostDiskUsed)} of the host's disk (at most ${size(df.hostDiskSize)}).` : "";
}

async function prune(path, question) {
  if (!(await confirmDialog(question, "Remove"))) return null;
  try {
    const r = await api("POST", path);
    toast(`Freed ${size(r.bytes)}${r.deleted && r.deleted.length ? " (" + r.deleted.length + " removed)" : ""}.`);
    return r;
  } catch (e) { toast(e.message); return null; } finally { loadResources(); }
}

// ---- ports: every forward, as `berth ports` lists them ----

let fwLoading = false, fwAgain = false;
async function loadForwards() {
  if (fwLoading) { fwAgain = true; return; }
  fwLoading = true;
  try {
    renderForwards(await api("GET", "/api/forwards"));
    $("#ports-error").hidden = true;
  } catch (e) {
    $("#ports-error").textContent = e.message;
    $("#ports-error").hidden = false;
    renderForwards([]);
  }
  fwLoading = false;
  if (fwAgain) { fwAgain = false; loadForwards(); }
}

function renderForwards(fs) {
  const rows = fs.map((f) => {
    const host = (f.hostIP === "*" ? "*" : f.hostIP.includes(":") ? "[" + f.hostIP + "]" : f.hostIP) + ":" + f.hostPort;
    const paused = f.state === "paused";
    const q = `proto=${encodeURIComponent(f.proto)}&port=${f.hostPort}`;
    const btns = [
      h("button", { "data-action": paused ? "resume" : "pause", onclick: () => portAction(paused ? "DELETE" : "POST", "/api/forwards/paused?" + q) },
        paused ? "Forward again" : "Stop forwarding"),
      f.source === "manual" ? h("button", { class: "danger", "data-action": "remove",
        onclick: () => portAction("DELETE", "/api/forwards?spec=" + encodeURIComponent(f.spec)) }, "Remove") : null,
    ];
    return h("tr", { "data-port": f.hostPort + "/" + f.proto },
      h("td", {}, f.url && f.state === "active" ? h("a", { href: f.url, target: "_blank", rel: "noopener noreferrer" }, host) : host),
      h("td", {}, f.guestIP + ":" + f.guestPort), h("td", {}, f.proto), h("td", {}, f.source),
      h("td", {}, f.source === "manual" ? f.spec : f.container || "-"),
      h("td", {}, h("span", { class: "state " + f.state }, f.state), f.reason ? h("div", { class: "muted" }, f.reason) : null),
      h("td", { class: "row-actions" }, btns));
  });
  $("#ports tbody").replaceChildren(...rows);
}

async function portAction(method, path) {
  try { await api(method, path); } catch (e) { toast(e.message); }
  loadForwards();
}

// ---- the machine ----

function stateText(st) {
  return st.state + (st.phase ? " (" + st.phase + ")" : "");
}

function setMachine(st) {
  const was = state.machine;
  state.machine = st;
  const b = $("#machine-state");
  b.textContent = stateText(st);
  b.className = "badge " + st.state;
  // The phases of a stop, start or restart as the agent's events give
  // them, each once, until the machine is up (or stopped) again.
  const isUp = (s) => s.state === "running" || s.state === "degraded" || s.state === "paused";
  const up = isUp(st), text = stateText(st), ph = state.phases;
  if (ph[ph.length - 1] !== text) {
    if (!up && was && isUp(was)) ph.length = 0; // a new stop or restart begins
    if (ph.length || !up) ph.push(text);
  }
  $("#machine-phases").textContent = ph.join(" → ");
  const stopped = st.state === "stopped" || st.state === "error";
  $("#machine-start").hidden = !stopped;
  $("#machine-restart").hidden = stopped;
  $("#machine-stop").hidden = stopped;
  $("#machine-restart").disabled = $("#machine-stop").disabled = st.state === "stopping";
  $("#stopped-banner").hidden = !stopped;
  if (stopped) $("#engine-error").hidden = true;
  $("#stopped-text").textContent = st.state === "error" ? "The machine stopped: " + st.error : "The machine is stopped.";
  if (up && was && !isUp(was)) {
    // The engine is back: list everything again.
    loadContainers(); loadResources(); loadForwards(); loadSettings();
  }
  renderMachine();
  renderTimeline(st.timeline);
}

// machineAction asks the agent to start, restart or stop the machine. An
// invalid config refuses a start or restart (nothing is stopped): each
// problem is shown next to its setting.
async function machineAction(action) {
  const ask = {
    stop: ["Stop the machine? Its containers get SIGTERM. This page stays, to start it again.", "Stop"],
    restart: ["Restart the machine? Its containers get SIGTERM; the VM boots again with the saved settings.", "Restart"],
  }[action];
  if (ask && !(await confirmDialog(...ask))) return;
  $("#machine-error").hidden = true;
  clearFieldErrors();
  state.phases = [];
  const r = await fetch("/api/machine/" + action, { method: "POST" });
  if (r.ok) return;
  const j = await r.json().catch(() => ({}));
  const errs = j.errors || { "": j.message || r.statusText };
  showFieldErrors(errs);
  $("#machine-error").textContent = `${action}: not done: ` + Object.values(errs).join("\n");
  $("#machine-error").hidden = false;
}

// renderTimeline shows where the last start's time went: the agent's
// stages, each as long as it took, and the guest's boot, each step when
// it ended (what `berth status` prints).
function renderTimeline(tl) {
  if (!tl || !tl.stages || !tl.stages.length) return;
  const secs = (s) => s < 1 ? s.toFixed(2) + "s" : s.toFixed(1) + "s";
  const total = tl.stages.reduce((a, s) => a + s.seconds, 0);
  const bar = (from, len, of) => h("td", { class: "bar" }, h("span", { style: `margin-left:${100 * from / of}%;width:${100 * len / of}%` }));
  let at = 0;
  const stages = h("table", { class: "timeline", id: "timeline-stages" },
    h("thead", {}, h("tr", {}, h("th", {}, `Started in ${secs(total)}`), h("th", {}, "took"), h("th", {}, ""))),
    h("tbody", {}, tl.stages.map((s) => {
      const row = h("tr", { "data-stage": s.name }, h("td", {}, s.name), h("td", { class: "secs" }, secs(s.seconds)), bar(at, s.seconds, total || 1));
      at += s.seconds;
      return row;
    })));
  const parts = [stages];
  if (tl.adopted) {
    parts.push(h("p", { class: "muted" }, "The VM was running already (adopted): no boot."));
  } else if (tl.restored) {
    parts.push(h("p", { class: "muted", id: "timeline-restored" }, "The VM saved at the last stop was restored (fastStart): no boot."));
  } else if (tl.guest && tl.guest.length) {
    const end = tl.guest[tl.guest.length - 1].at || 1;
    let prev = 0;
    parts.push(h("table", { class: "timeline guest", id: "timeline-guest" },
      h("thead", {}, h("tr", {}, h("th", {}, "Guest boot, each step ended at"), h("th", {}, "at"), h("th", {}, ""))),
      h("tbody", {}, tl.guest.map((m) => {
        const row = h("tr", { "data-mark": m.name }, h("td", {}, m.name), h("td", { class: "secs" }, secs(m.at)), bar(prev, Math.max(0, m.at - prev), end));
        prev = m.at;
        return row;
      }))));
  }
  $("#timeline").replaceChildren(...parts);
}

function duration(from) {
  const s = Math.floor((Date.now() - new Date(from).getTime()) / 1000);
  if (!(s >= 0)) return "";
  const d = Math.floor(s / 86400), hh = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return (d ? d + "d " : "") + (d || hh ? hh + "h " : "") + m + "m";
}

function renderMachine() {
  const st = state.machine;
  if (!st) return;
  const rows = [
    ["Machine", st.machine],
    ["State", st.state + (st.phase ? " (" + st.phase + ")" : "") + (st.error ? ": " + st.error : "")],
    ["Driver", st.driver],
    ["Accelerator", st.accelerator ? st.accelerator + (st.accelNote ? " — " + st.accelNote : "") : ""],
    ["CPUs", st.cpus], ["Memory", st.memoryMiB ? st.memoryMiB + " MiB" : ""],
    ["Data disk", st.diskBytes ? `${size(st.diskBytes - st.diskFreeBytes)} used, ${size(st.diskFreeBytes)} free of ${size(st.diskBytes)}` : ""],
    ["Engine", st.engineVersion], ["Guest image", st.imageVersion],
    ["File sharing", (st.fileSharing || "") + (st.fileSharingNote ? " — " + st.fileSharingNote : "")],
    ["Shares", (st.shares || []).join(", ")],
    ["Docker host", st.dockerHost],
    ["Up for", st.readyAt ? duration(st.readyAt) : ""],
    ["Paused since", st.pausedSince ? new Date(st.pausedSince).toLocaleString() : ""],
    ["Warnings", (st.warnings || []).join("; ")],
  ];
  $("#machine").replaceChildren(...rows.filter(([, v]) => v !== "" && v !== undefined && v !== null && v !== 0)
    .flatMap(([k, v]) => [h("dt", {}, k), h("dd", { "data-field": k }, String(v))]));
}

// ---- settings: the config file, validated as `berth config set` does ----

let settingsLoaded = {};
async function loadSettings() {
  try { showSettings(await api("GET", "/api/settings")); } catch (e) { toast("settings: " + e.message); }
}

function showSettings(s) {
  settingsLoaded = s.values || {};
  for (const el of $("#settings").elements) {
    if (!el.name) continue;
    el.value = settingsLoaded[el.name] || "";
    if (el.tagName !== "SELECT") el.placeholder = (s.defaults || {})[el.name] || el.placeholder;
  }
  setRestartNote(s.restart);
}

function setRestartNote(restart) {
  const n = $("#settings-note");
  n.textContent = restart ? "Restart to apply." : "";
  n.className = restart ? "restart" : "muted";
  $("#settings-restart").hidden = !restart;
}

function clearFieldErrors() {
  for (const e of document.querySelectorAll("[data-error-for]")) e.textContent = "";
  for (const el of $("#settings").elements) el.classList.remove("invalid");
}

function showFieldErrors(errs) {
  for (const [k, msg] of Object.entries(errs)) {
    const box = document.querySelector(`[data-error-for="${CSS.escape(k)}"]`) || document.querySelector('[data-error-for=""]');
    box.textContent = box.textContent ? box.textContent + "\n" + msg : msg;
    const el = $("#settings").elements.namedItem(k);
    if (el) el.classList.add("invalid");
  }
}

async function saveSettings(ev) {
  ev.preventDefault();
  const values = {};
  for (const el of $("#settings").elements) {
    if (el.name && el.value !== (settingsLoaded[el.name] || "")) values[el.name] = el.value;
  }
  clearFieldErrors();
  if (!Object.keys(values).length) { $("#settings-note").textContent = "Nothing changed."; return; }
  const r = await fetch("/api/settings", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ values }) });
  const j = await r.json().catch(() => ({}));
  if (r.ok) {
    showSettings(j);
    if (!j.restart) $("#settings-note").textContent = "Saved.";
    return;
  }
  showFieldErrors(j.errors || { "": j.message || r.statusText });
  $("#settings-note").textContent = "Not saved.";
}

// ---- wiring ----

window.addEventListener("hashchange", showView);
document.addEventListener("DOMContentLoaded", () => {
  showView();
  $("#filter").addEventListener("input", (e) => { state.filter = e.target.value; renderContainers(); });
  $("#panel-close").addEventListener("click", closePanel);
  for (const b of document.querySelectorAll(".tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));
  let t = 0;
  $("#log-search").addEventListener("input", (e) => { clearTimeout(t); t = setTimeout(() => logs.setQuery(e.target.value), 120); });
  $("#log-ts").addEventListener("change", () => logs.schedule());
  $("#log-follow").addEventListener("change", () => logs.schedule());
  $("#log-view").addEventListener("scroll", () => {
    const box = $("#log-view");
    // Scrolling up stops following; back at the bottom follows again.
    $("#log-follow").checked = box.scrollTop + box.clientHeight >= box.scrollHeight - LINE_H;
    logs.schedule();
  });
  $("#machine-shell").addEventListener("click", () => openPanel({ id: null, name: "Shell in the VM", vm: true }));
  $("#machine-stop").addEventListener("click", () => machineAction("stop"));
  $("#machine-restart").addEventListener("click", () => machineAction("restart"));
  $("#settings-restart").addEventListener("click", () => machineAction("restart"));
  $("#machine-start").addEventListener("click", () => machineAction("start"));
  $("#banner-start").addEventListener("click", () => machineAction("start"));
  $("#settings").addEventListener("submit", saveSettings);
  $("#forward-add").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("#forward-error").textContent = "";
    try {
      await api("POST", "/api/forwards", { spec: $("#forward-spec").value.trim() });
      $("#forward-spec").value = "";
    } catch (e) { $("#forward-error").textContent = e.message; }
    loadForwards();
  });
  loadForwards();
  $("#images-prune").addEventListener("click", () => prune("/api/images/prune", "Remove every dangling image (untagged, used by no container)?"));
  $("#volumes-prune").addEventListener("click", () => prune("/api/volumes/prune", "Remove every volume no container uses, and its data?"));
  $("#reclaim").addEventListener("click", async () => {
    const r = await prune("/api/reclaim", "Remove dangling images and the build cache?");
    if (r) $("#reclaimed").textContent = `Reclaimed ${size(r.bytes)}.`;
  });
  loadResources();
  api("GET", "/api/machine").then(setMachine).catch((e) => toast(e.message));
  loadSettings();
  loadContainers();
  connect();
});
