/* phoneprov web console (docs/console.md). Plain JavaScript, no framework:
 * it talks only to the REST API under /api/v1 and to /api/v1/events, with
 * the token the administrator signed in with (session storage, sent in the
 * Authorization header, never in a URL). */
"use strict";

const API = "/api/v1";
const TOKEN_KEY = "phoneprov.token";
const PAGE = 100;            // device rows per table page
const LIST_PAGE = 1000;      // devices per API request (the API's default limit)
const BATCH_MS = 250;        // live updates are applied at most this often

const $ = (sel, root = document) => root.querySelector(sel);

/* ---- small DOM helper ------------------------------------------------ */

/* h("tag.class", {attr: value, onclick: fn}, child...) */
function h(spec, attrs, ...kids) {
  const [tag, ...cls] = spec.split(".");
  const e = document.createElement(tag);
  if (cls.length) e.className = cls.join(" ");
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "text") e.textContent = v;
    else if (k === "value") e.value = v;
    else if (k === "checked") e.checked = !!v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const k of kids.flat(Infinity)) {
    if (k === null || k === undefined || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

function say(msg) {
  const s = $("#status");
  s.textContent = msg;
  clearTimeout(say.t);
  say.t = setTimeout(() => { s.textContent = ""; }, 5000);
}

function fmtTime(ms) {
  if (ms === null || ms === undefined || ms === "") return "";
  const d = new Date(typeof ms === "number" ? ms : Date.parse(ms));
  return isNaN(d) ? String(ms) : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function pretty(j) { return JSON.stringify(j, null, 2); }

/* ---- the API --------------------------------------------------------- */

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `HTTP ${status}`);
    this.status = status;
    this.field = (body && body.field) || "";
    this.body = body;
  }
}

function token() { return sessionStorage.getItem(TOKEN_KEY); }

/* One request: resolves to {status, body, headers}; rejects with ApiError
 * on 4xx/5xx (a 401 signs out). raw: the body as text. */
async function api(method, path, body, {raw = false, accept} = {}) {
  const headers = {Authorization: "Bearer " + token()};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (accept) headers.Accept = accept;
  const r = await fetch(API + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  const text = await r.text();
  let j = null;
  if (!raw && text) {
    try { j = JSON.parse(text); } catch (e) { j = {error: text.slice(0, 200)}; }
  }
  if (r.status === 401) {
    signOut("The token was refused (401): sign in again.");
    throw new ApiError(401, j);
  }
  if (r.status >= 400) throw new ApiError(r.status, j);
  return {status: r.status, body: raw ? text : j, headers: r.headers};
}

/* ---- state ----------------------------------------------------------- */

const state = {
  role: null,                // "user" | "admin"
  devices: new Map(),        // mac -> device
  devicesLoaded: false,
  devicesLoading: null,      // the running full load (a promise)
  loadMs: null,              // how long the last full load + first render took
  pending: new Set(),        // macs changed by events, not yet fetched
  fullReload: false,         // too many changes: list everything again
  plugins: null,             // [{name, version, vendor, description}]
  meta: new Map(),           // plugin name -> its plugin.yml as JSON
  phoneTypes: null,          // [{name, plugin?, display_index, special, ...}]
  listeners: new Set(),      // fn(event) for every /events event
  seq: 0,                    // last event seq seen
};

function isAdmin() { return state.role === "admin"; }

/* ---- live events: fetch + a stream reader (the token goes in a header,
 * which EventSource cannot send) ---------------------------------------- */

let evAbort = null;

async function eventsLoop() {
  while (token()) {
    evAbort = new AbortController();
    const since = state.seq ? `?since=${state.seq}` : "";
    try {
      const r = await fetch(`${API}/events${since}`, {
        headers: {Authorization: "Bearer " + token(), Accept: "text/event-stream"},
        signal: evAbort.signal, cache: "no-store",
      });
      if (r.status === 401) { signOut("The token was refused (401): sign in again."); return; }
      if (!r.ok || !r.body) throw new Error(`events: HTTP ${r.status}`);
      setLive(true);
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          onEventBlock(block);
        }
      }
    } catch (e) {
      if (e.name === "AbortError") return;
    }
    setLive(false);
    if (!token()) return;
    await new Promise((res) => setTimeout(res, 2000));
  }
}

function setLive(on) {
  $("#live").textContent = on ? "live: on" : "live: reconnecting";
}

function onEventBlock(block) {
  let id = null, data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("id: ")) id = Number(line.slice(4));
    else if (line.startsWith("data: ")) data += line.slice(6);
  }
  if (id !== null && id > state.seq) state.seq = id;
  if (!data) return;
  let ev;
  try { ev = JSON.parse(data); } catch (e) { return; }
  if (ev.type && ev.type.startsWith("device.") && ev.data && ev.data.mac) {
    if (state.devicesLoaded) {
      if (state.pending.size > 200) state.fullReload = true;
      else state.pending.add(ev.data.mac);
      scheduleApply();
    }
  }
  for (const fn of state.listeners) {
    try { fn(ev); } catch (e) { /* a page's listener must not stop the stream */ }
  }
}

/* Device changes are applied in batches: at most one fetch round and one
 * table render per BATCH_MS, however many events a boot storm sends. */
let applyTimer = null;
function scheduleApply() {
  if (applyTimer) return;
  applyTimer = setTimeout(applyPending, BATCH_MS);
}

async function applyPending() {
  const macs = [...state.pending];
  const full = state.fullReload;
  state.pending.clear();
  state.fullReload = false;
  try {
    if (full) {
      await loadAllDevices(true);
    } else {
      for (let i = 0; i < macs.length; i += 8) {
        await Promise.all(macs.slice(i, i + 8).map(async (mac) => {
          try {
            const r = await api("GET", `/devices/${encodeURIComponent(mac)}`);
            state.devices.set(r.body.mac, r.body);
          } catch (e) {
            if (e.status === 404) state.devices.delete(mac);
          }
        }));
      }
    }
  } finally {
    applyTimer = null;
    if (state.pending.size || state.fullReload) scheduleApply();
  }
  requestAnimationFrame(() => { if (current.refresh) current.refresh(); });
}

/* Every device, a page of LIST_PAGE at a time (the API's `after` cursor). */
async function loadAllDevices(force) {
  if (state.devicesLoading) return state.devicesLoading;
  if (state.devicesLoaded && !force) return;
  state.devicesLoading = (async () => {
    const all = new Map();
    let after = "";
    for (;;) {
      const q = `?limit=${LIST_PAGE}` + (after ? `&after=${encodeURIComponent(after)}` : "");
      const r = await api("GET", "/devices" + q);
      for (const d of r.body.devices) all.set(d.mac, d);
      if (!r.body.next) break;
      after = r.body.next;
    }
    state.devices = all;
    state.devicesLoaded = true;
  })();
  try { await state.devicesLoading; } finally { state.devicesLoading = null; }
}

async function loadPlugins() {
  if (!state.plugins) {
    const r = await api("GET", "/plugins");
    state.plugins = r.body.plugins || [];
  }
  return state.plugins;
}

async function pluginMeta(name) {
  if (!state.meta.has(name)) {
    const r = await api("GET", `/plugins/${encodeURIComponent(name)}`);
    state.meta.set(name, r.body.meta || {});
  }
  return state.meta.get(name);
}

/* Phone types in display order: GET /phone_types, or (a daemon without
 * that endpoint answers 404) each plugin's `phone_types` metadata. */
async function loadPhoneTypes() {
  if (state.phoneTypes) return state.phoneTypes;
  let list = null;
  try {
    const r = await api("GET", "/phone_types");
    list = Array.isArray(r.body) ? r.body : (r.body.phone_types || r.body.items || []);
  } catch (e) {
    if (e.status !== 404) throw e;
    list = [];
    for (const p of await loadPlugins()) {
      const m = await pluginMeta(p.name);
      for (const t of m.phone_types || []) list.push(Object.assign({plugin: p.name}, t));
    }
  }
  list.sort((a, b) => (a.display_index ?? 0) - (b.display_index ?? 0) ||
    String(a.name).localeCompare(String(b.name)));
  state.phoneTypes = list;
  return list;
}

/* ---- routing --------------------------------------------------------- */

let current = {};   // the page shown: {refresh, leave}

const routes = [
  [/^#\/devices$/, pageDevices, "devices"],
  [/^#\/device\/([^/]+)$/, pageDevice, "devices"],
  [/^#\/configs$/, pageConfigs, "configs"],
  [/^#\/config\/(.*)$/, pageConfig, "configs"],
  [/^#\/plugins$/, pagePlugins, "plugins"],
  [/^#\/records$/, pageRecords, "records"],
  [/^#\/identify$/, pageIdentify, "identify"],
];

async function route() {
  if (!token()) return showSignIn();
  const hash = location.hash || "#/devices";
  if (current.leave) current.leave();
  current = {};
  const view = $("#view");
  view.replaceChildren();
  for (const [re, fn, nav] of routes) {
    const m = hash.match(re);
    if (!m) continue;
    for (const a of document.querySelectorAll("[data-nav]")) {
      if (a.dataset.nav === nav) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    try {
      await fn(view, ...m.slice(1).map(decodeURIComponent));
    } catch (e) {
      if (e.status !== 401) view.append(h("p.err", {role: "alert", text: "Error: " + e.message}));
    }
    const h1 = $("h1", view);
    if (h1) { h1.tabIndex = -1; h1.focus({preventScroll: true}); }
    return;
  }
  location.hash = "#/devices";
}

/* ---- sign-in --------------------------------------------------------- */

function showSignIn(msg) {
  $("#top").hidden = true;
  $("#view").replaceChildren();
  $("#signin").hidden = false;
  $("#token-err").textContent = msg || "";
  $("#token").focus();
}

async function signIn(tok) {
  sessionStorage.setItem(TOKEN_KEY, tok);
  try {
    const r = await api("GET", "/whoami");
    state.role = r.body.role;
  } catch (e) {
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn(e.status === 401 ? "This token is not valid." : "Cannot sign in: " + e.message);
    return false;
  }
  $("#signin").hidden = true;
  $("#top").hidden = false;
  $("#role").textContent = state.role === "admin" ? "admin token" : "user token";
  document.body.classList.toggle("admin", isAdmin());
  eventsLoop();
  route();
  return true;
}

function signOut(msg) {
  sessionStorage.removeItem(TOKEN_KEY);
  if (evAbort) evAbort.abort();
  state.role = null;
  state.devices = new Map();
  state.devicesLoaded = false;
  state.seq = 0;
  if (current.leave) current.leave();
  current = {};
  showSignIn(msg);
}

/* ---- forms: errors next to their field -------------------------------- */

/* Show err (an ApiError) at the form's field it names (data-field), else
 * in the form's general error line. */
function fieldError(form, err) {
  clearErrors(form);
  const f = err.field || "";
  const input = f && (form.querySelector(`[data-field="${CSS.escape(f)}"]`) ||
    form.querySelector(`[data-field="${CSS.escape(f.split(/[.[]/)[0])}"]`));
  const msg = err.message + (err.status ? ` (${err.status})` : "");
  if (input) {
    input.setAttribute("aria-invalid", "true");
    const out = document.getElementById(input.getAttribute("aria-describedby").split(" ")[0]);
    out.textContent = msg;
    input.focus();
  } else {
    $(".form-err", form).textContent = msg;
  }
}

function clearErrors(form) {
  for (const e of form.querySelectorAll("[aria-invalid]")) e.removeAttribute("aria-invalid");
  for (const e of form.querySelectorAll(".err")) e.textContent = "";
}

/* A labelled field: input element, its hint and its error line. */
let fieldSeq = 0;
function field(label, input, hint) {
  const id = input.id || `f${++fieldSeq}`;
  input.id = id;
  input.setAttribute("aria-describedby", `${id}-err` + (hint ? ` ${id}-hint` : ""));
  return h("div.field", {},
    h("label", {for: id, text: label}), input,
    hint ? h("p.hint", {id: `${id}-hint`, text: hint}) : null,
    h("p.err", {id: `${id}-err`, role: "alert"}));
}

async function download(path, name, accept) {
  const r = await api("GET", path, undefined, {raw: true, accept});
  const url = URL.createObjectURL(new Blob([r.body], {type: "application/octet-stream"}));
  const a = h("a", {href: url, download: name});
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/* ---- Devices --------------------------------------------------------- */

const DEV_COLS = [
  ["mac", "MAC"], ["ip", "IP"], ["vendor", "Vendor"], ["model", "Model"],
  ["version", "Version"], ["plugin", "Plugin"], ["score", "Score"], ["state", "State"],
  ["phone_type", "Phone type"], ["last_seen", "Last seen"],
];

function devValue(d, k) {
  if (k === "score") return (d.scores && d.plugin && d.scores[d.plugin]) || "";
  return d[k] ?? "";
}

const devView = {q: "", state: "", plugin: "", vendor: "", sort: "mac", dir: 1, page: 0};

async function pageDevices(view) {
  const t0 = performance.now();
  const search = h("input", {type: "search", value: devView.q, "data-field": "q",
    placeholder: "MAC, IP, model…"});
  const selState = h("select", {}, h("option", {value: "", text: "any"}));
  const selPlugin = h("select", {}, h("option", {value: "", text: "any"}));
  const selVendor = h("select", {}, h("option", {value: "", text: "any"}));
  const info = h("p", {id: "dev-count", "aria-live": "polite"});
  const tbody = h("tbody");
  const pager = h("div.pager");
  const headRow = h("tr");
  const table = h("table", {id: "devices"},
    h("caption.sr", {text: "Devices"}), h("thead", {}, headRow), tbody);

  view.append(h("h1", {text: "Devices"}),
    h("form.filters", {role: "search", onsubmit: (e) => e.preventDefault()},
      field("Search", search), field("State", selState), field("Plugin", selPlugin),
      field("Vendor", selVendor)),
    info, h("div.table-wrap", {}, table), pager);

  for (const [k, label] of DEV_COLS) {
    const b = h("button", {type: "button", text: label,
      onclick: () => { devView.dir = devView.sort === k ? -devView.dir : 1; devView.sort = k; draw(); }});
    headRow.append(h("th", {scope: "col", "data-col": k}, b));
  }

  let typing = null;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { devView.q = search.value.trim().toLowerCase(); devView.page = 0; draw(); }, 150);
  });
  for (const [sel, key] of [[selState, "state"], [selPlugin, "plugin"], [selVendor, "vendor"]]) {
    sel.addEventListener("change", () => { devView[key] = sel.value; devView.page = 0; draw(); });
  }

  function fillSelect(sel, key) {
    const have = new Set([...sel.options].map((o) => o.value));
    const vals = new Set();
    for (const d of state.devices.values()) if (d[key]) vals.add(d[key]);
    for (const v of [...vals].sort()) if (!have.has(v)) sel.append(h("option", {value: v, text: v}));
    sel.value = devView[key];
  }

  function rows() {
    const q = devView.q;
    let list = [];
    for (const d of state.devices.values()) {
      if (devView.state && d.state !== devView.state) continue;
      if (devView.plugin && d.plugin !== devView.plugin) continue;
      if (devView.vendor && d.vendor !== devView.vendor) continue;
      if (q && !DEV_COLS.some(([k]) => String(devValue(d, k)).toLowerCase().includes(q)) &&
          !String(d.mac.replace(/:/g, "")).includes(q.replace(/[:-]/g, ""))) continue;
      list.push(d);
    }
    const k = devView.sort, dir = devView.dir;
    list.sort((a, b) => {
      const x = devValue(a, k), y = devValue(b, k);
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
    return list;
  }

  function draw() {
    const list = rows();
    const pages = Math.max(1, Math.ceil(list.length / PAGE));
    if (devView.page >= pages) devView.page = pages - 1;
    const start = devView.page * PAGE;
    const frag = document.createDocumentFragment();
    for (const d of list.slice(start, start + PAGE)) {
      const tr = h("tr", {"data-mac": d.mac});
      for (const [k] of DEV_COLS) {
        let v = devValue(d, k);
        if (k === "mac") v = h("a", {href: `#/device/${encodeURIComponent(d.mac)}`, text: d.mac});
        else if (k === "state") v = h(`span.badge.state-${d.state || "none"}`, {text: d.state || ""});
        else if (k === "last_seen") v = fmtTime(d.last_seen);
        tr.append(h("td", {}, v));
      }
      frag.append(tr);
    }
    tbody.replaceChildren(frag);
    for (const th of headRow.children) {
      th.setAttribute("aria-sort", th.dataset.col === devView.sort ?
        (devView.dir > 0 ? "ascending" : "descending") : "none");
    }
    info.textContent = `${list.length} of ${state.devices.size} devices` +
      (list.length ? `, rows ${start + 1}–${Math.min(start + PAGE, list.length)}` : "");
    pager.replaceChildren(
      h("button", {type: "button", text: "Previous", disabled: devView.page === 0,
        onclick: () => { devView.page--; draw(); }}),
      h("span", {text: `page ${devView.page + 1} of ${pages}`}),
      h("button", {type: "button", text: "Next", disabled: devView.page >= pages - 1,
        onclick: () => { devView.page++; draw(); }}));
    fillSelect(selState, "state");
    fillSelect(selPlugin, "plugin");
    fillSelect(selVendor, "vendor");
  }

  info.textContent = "Loading devices…";
  await loadAllDevices(false);
  draw();
  // the page-load budget the tests measure: every device listed and the
  // first table page in the document
  state.loadMs = performance.now() - t0;
  table.dataset.loadMs = state.loadMs.toFixed(1);
  table.dataset.ready = "1";
  current.refresh = draw;
}

/* ---- Device page ----------------------------------------------------- */

const DEV_FIELDS = [
  ["ip", "IP address", "IPv4 or IPv6"],
  ["vendor", "Vendor", "at most 63 bytes"], ["model", "Model", "at most 63 bytes"],
  ["version", "Version", "firmware version"], ["serial", "Serial", ""],
  ["description", "Description", ""],
];

async function pageDevice(view, mac) {
  const enc = encodeURIComponent(mac);
  const [dev, ex] = await Promise.all([
    api("GET", `/devices/${enc}`).then((r) => r.body),
    api("GET", `/devices/${enc}/explain`).then((r) => r.body),
  ]);
  view.append(h("h1", {text: `Device ${dev.mac}`}),
    h("p", {}, h("a", {href: "#/devices", text: "← all devices"})));

  // actions
  const result = h("pre", {id: "action-result", "aria-live": "polite", hidden: true});
  const show = (j) => { result.hidden = false; result.textContent = typeof j === "string" ? j : pretty(j); };
  const act = (label, fn, cls) => h(`button${cls ? "." + cls : ""}`, {type: "button", text: label,
    onclick: async (e) => {
      e.target.disabled = true;
      try { await fn(); } catch (err) { show(`${label}: ${err.message} (${err.status || "?"})`); }
      e.target.disabled = false;
    }});
  view.append(h("h2", {text: "Actions"}), h("div.actions", {},
    act("Reconfigure", async () => {
      const r = await api("POST", `/devices/${enc}/reconfigure`);
      show(r.body);
      say("Reconfigured " + dev.mac);
    }),
    act("Synchronize", async () => {
      const port = $("#sync-port").value.trim();
      const r = await api("POST", `/devices/${enc}/synchronize` + (port ? `?port=${encodeURIComponent(port)}` : ""));
      show(r.body);
      const op = await followOperation(r.body, (o) => show(o));
      say(`Synchronize: ${op.state}`);
    }),
    act("Delete", async () => {
      if (!confirm(`Delete device ${dev.mac}?`)) return;
      await api("DELETE", `/devices/${enc}`);
      state.devices.delete(dev.mac);
      say("Deleted " + dev.mac);
      location.hash = "#/devices";
    }, "danger"),
    h("label", {for: "sync-port", text: "SIP port"}),
    h("input", {id: "sync-port", type: "number", min: 1, max: 65535, placeholder: "5060",
      "aria-describedby": "sync-port-hint"}),
    h("span.hint", {id: "sync-port-hint", text: "for Synchronize (SIP NOTIFY over UDP)"})), result);

  // identification
  view.append(h("h2", {text: "Identification"}));
  const facts = h("dl.kv", {id: "explain-facts"});
  for (const [k, v] of Object.entries(ex.device || {})) facts.append(h("dt", {text: k}), h("dd", {text: v ?? "—"}));
  facts.append(h("dt", {text: "plugin"}), h("dd", {text: ex.plugin ?? "none (no plugin scores above IMPROBABLE)"}));
  if (ex.dhcp) facts.append(h("dt", {text: "dhcp"}), h("dd", {text: JSON.stringify(ex.dhcp)}));
  view.append(facts);
  const order = {EXACT: 0, COMPLETE: 1, PROBABLE: 2, IMPROBABLE: 3};
  const scores = Object.entries(ex.scores || {}).sort((a, b) =>
    (order[a[1]] ?? 9) - (order[b[1]] ?? 9) || a[0].localeCompare(b[0]));
  view.append(h("div.table-wrap", {}, h("table", {id: "explain-scores"},
    h("caption.sr", {text: "Every plugin's score"}),
    h("thead", {}, h("tr", {}, h("th", {scope: "col", text: "Plugin"}), h("th", {scope: "col", text: "Score"}))),
    h("tbody", {}, scores.map(([p, s]) => h(`tr${p === ex.plugin ? ".win" : ""}`, {},
      h("td", {text: p + (p === ex.plugin ? " (chosen)" : "")}), h("td", {text: s})))))));
  view.append(h("details", {}, h("summary", {text: "The whole explanation (as phoneprov render --explain --json)"}),
    h("pre", {id: "explain-json", text: pretty(ex)})));

  // effective config with the origin of each value
  view.append(h("h2", {text: "Effective config"}));
  const merged = ex.config_merged || ex.config_resolved || {};
  const origin = (k) => {
    if (ex.general_settings && ex.general_settings[k]) return ex.general_settings[k].source;
    for (const c of ex.config_chain || []) if (c.raw_config && k in c.raw_config) return `config ${c.id}`;
    if (ex.plugin_autoprov && k in ex.plugin_autoprov) return `plugin ${ex.plugin} (autoprov)`;
    return "general settings";
  };
  view.append(h("p.hint", {text: "Config chain: " +
    ((ex.config_chain || []).map((c) => c.id + (c.missing ? " (missing)" : "")).join(" → ") || "none")}));
  view.append(h("div.table-wrap", {}, h("table", {id: "effective-config"},
    h("caption.sr", {text: "Effective config"}),
    h("thead", {}, h("tr", {}, ["Key", "Value", "From"].map((t) => h("th", {scope: "col", text: t})))),
    h("tbody", {}, Object.keys(merged).sort().map((k) => h("tr", {},
      h("td", {text: k}), h("td.wrap", {}, h("code", {text: JSON.stringify(merged[k])})),
      h("td", {text: origin(k)})))))));

  // rendered files
  view.append(h("h2", {text: "Rendered files"}));
  const fileView = h("pre", {id: "file-view", hidden: true, tabindex: "0", "aria-label": "File content"});
  const files = ex.files || [];
  if (!files.length) view.append(h("p", {text: "No rendered files."}));
  view.append(h("ul", {id: "files"}, files.map((f) => {
    const p = `/devices/${enc}/files?path=${encodeURIComponent(f.path)}`;
    return h("li", {}, h("code", {text: f.path}), ` ${f.size} bytes, template ${f.template || "?"} `,
      h("button", {type: "button", text: "View", "aria-label": `View ${f.path}`, onclick: async () => {
        const r = await api("GET", p, undefined, {raw: true});
        fileView.hidden = false;
        fileView.textContent = r.body;
      }}), " ",
      h("button", {type: "button", text: "Download", "aria-label": `Download ${f.path}`,
        onclick: () => download(p, f.path.split("/").pop())}));
  })), fileView);

  // edit
  view.append(h("h2", {text: "Edit"}));
  view.append(await deviceForm(dev));
}

/* The device's client fields plus its phone type's extra fields (the
 * phone type's schema gives each a type, default, pattern). */
async function deviceForm(dev) {
  const enc = encodeURIComponent(dev.mac);
  const plugins = await loadPlugins();
  const cfgs = (await api("GET", "/configs?limit=1000")).body.configs || [];
  const form = h("form", {id: "device-form", novalidate: true});
  const inputs = {};
  for (const [k, label, hint] of DEV_FIELDS) {
    inputs[k] = h("input", {type: "text", value: dev[k] ?? "", "data-field": k, name: k});
    form.append(field(label, inputs[k], hint));
  }
  inputs.plugin = h("select", {"data-field": "plugin", name: "plugin"}, h("option", {value: "", text: "(none)"}),
    plugins.map((p) => h("option", {value: p.name, text: p.name})));
  inputs.plugin.value = dev.plugin ?? "";
  form.append(field("Plugin", inputs.plugin));
  inputs.config = h("select", {"data-field": "config", name: "config"}, h("option", {value: "", text: "(none)"}),
    cfgs.map((c) => h("option", {value: c.id, text: c.id})));
  inputs.config.value = dev.config ?? "";
  form.append(field("Config", inputs.config, "the config this device inherits from"));
  inputs.phone_type = h("select", {"data-field": "phone_type", name: "phone_type"});
  form.append(field("Phone type", inputs.phone_type, isAdmin() ? "" : "admin-only (special) types need the admin token"));
  const extraBox = h("fieldset", {}, h("legend", {text: "Extra fields"}));
  form.append(extraBox);
  const extraInputs = {};

  async function typesFor(plugin) {
    if (!plugin) return [];
    const m = await pluginMeta(plugin);
    return (m.phone_types || []).slice().sort((a, b) => (a.display_index ?? 0) - (b.display_index ?? 0));
  }
  async function fillTypes() {
    const types = await typesFor(inputs.plugin.value);
    inputs.phone_type.replaceChildren(h("option", {value: "", text: "(none)"}),
      ...types.map((t) => h("option", {value: t.name, disabled: t.special && !isAdmin(),
        text: t.name + (t.special ? " (admin only)" : "") + (t.prevent_sip ? " (no SIP)" : "")})));
    inputs.phone_type.value = types.some((t) => t.name === dev.phone_type) ? dev.phone_type : "";
    fillExtra(types.find((t) => t.name === inputs.phone_type.value));
  }
  function fillExtra(type) {
    extraBox.replaceChildren(h("legend", {text: "Extra fields"}));
    for (const k of Object.keys(extraInputs)) delete extraInputs[k];
    const fields = (type && type.extra_fields) || [];
    if (!fields.length) extraBox.append(h("p.hint", {text: "This phone type has no extra fields."}));
    for (const f of fields) {
      const cur = dev.extra ? dev.extra[f.name] : undefined;
      let inp;
      const numeric = f.type === "integer" || f.type === "number";
      const hint = [f.type, f.required ? "required" : "optional",
        f.default !== undefined && f.default !== "" ? `default ${JSON.stringify(f.default)}` : "",
        f.enum ? `one of ${f.enum.join(", ")}` : "",
        f.min !== undefined ? `at least ${f.min}${numeric ? "" : f.type === "list" ? " items" : " characters"}` : "",
        f.max !== undefined ? `at most ${f.max}${numeric ? "" : f.type === "list" ? " items" : " characters"}` : "",
        f.type === "list" ? "comma separated" : "",
        f.type === "ip" ? "IPv4 or IPv6" : "", f.type === "mac" ? "MAC address" : "",
        f.pattern ? `pattern ${f.pattern}` : ""].filter(Boolean).join(", ");
      if (f.type === "boolean") {
        inp = h("input", {type: "checkbox", checked: cur ?? f.default});
      } else if (f.enum && f.type !== "list") {
        inp = h("select", {}, h("option", {value: "", text: f.default !== undefined ? `(default ${f.default})` : "(none)"}),
          f.enum.map((v) => h("option", {value: String(v), text: String(v)})));
        inp.value = cur !== undefined && cur !== null ? String(cur) : "";
      } else {
        inp = h("input", {type: numeric ? "number" : f.type === "password" ? "password" : "text",
          value: Array.isArray(cur) ? cur.join(", ") : cur ?? "",
          placeholder: Array.isArray(f.default) ? f.default.join(", ") : f.default ?? "",
          required: !!f.required, pattern: f.pattern || null, step: f.type === "integer" ? "1" : null,
          min: numeric ? f.min : null, max: numeric ? f.max : null,
          minlength: !numeric && f.type !== "list" ? f.min : null,
          maxlength: !numeric && f.type !== "list" ? f.max : null,
          autocomplete: f.type === "password" ? "new-password" : null});
      }
      inp.dataset.field = `extra.${f.name}`;
      inp.dataset.type = f.type;
      extraInputs[f.name] = inp;
      extraBox.append(field(f.name, inp, hint));
    }
  }
  inputs.plugin.addEventListener("change", fillTypes);
  inputs.phone_type.addEventListener("change", async () => {
    const types = await typesFor(inputs.plugin.value);
    fillExtra(types.find((t) => t.name === inputs.phone_type.value));
  });
  await fillTypes();

  form.append(h("p.err.form-err", {role: "alert"}),
    h("button.primary", {type: "submit", text: "Save"}));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const patch = {};
    for (const k of Object.keys(inputs)) {
      const v = inputs[k].value.trim();
      const was = dev[k] ?? "";
      if (v !== was) patch[k] = v === "" ? null : v;
    }
    const extra = {};
    for (const [name, inp] of Object.entries(extraInputs)) {
      // client-side hints; the API's answer is the one that counts
      if (inp.type !== "checkbox" && inp.value !== "" && !inp.checkValidity()) {
        fieldError(form, {field: `extra.${name}`, message: inp.validationMessage});
        return;
      }
      if (inp.type === "checkbox") extra[name] = inp.checked;
      else if (inp.value === "") continue;
      else if (inp.dataset.type === "integer" || inp.dataset.type === "number") extra[name] = Number(inp.value);
      else if (inp.dataset.type === "list") extra[name] = inp.value.split(",").map((x) => x.trim()).filter(Boolean);
      else extra[name] = inp.value;
    }
    if (Object.keys(extraInputs).length || dev.extra) patch.extra = extra;
    try {
      const r = await api("PATCH", `/devices/${enc}`, patch);
      Object.assign(dev, r.body);
      state.devices.set(r.body.mac, r.body);
      say("Saved " + dev.mac);
      $(".form-err", form).textContent = "";
    } catch (err) {
      if (err.status !== 401) fieldError(form, err);
    }
  });
  return form;
}

/* Follow an operation (202 + Location) to its end: `operation` events,
 * with a poll of /operations/{id} as a safety net. onChange(op) on each
 * state or progress change; resolves to the finished operation. */
function followOperation(op, onChange) {
  return new Promise((resolve) => {
    let done = false, last = "";
    const seen = (o) => {
      if (done || !o || o.id !== op.id) return;
      const key = o.state + "/" + (o.progress || "");
      if (key !== last) { last = key; onChange(o); }
      if (o.state !== "running") { done = true; finish(); resolve(o); }
    };
    const listener = (ev) => { if (ev.type === "operation") seen(ev.data); };
    state.listeners.add(listener);
    const poll = setInterval(async () => {
      try { seen((await api("GET", `/operations/${encodeURIComponent(op.id)}`)).body); } catch (e) { /* next poll */ }
    }, 1000);
    const finish = () => { state.listeners.delete(listener); clearInterval(poll); };
    seen(op);
  });
}

/* ---- Configs --------------------------------------------------------- */

async function allConfigs() {
  const out = [];
  let after = "";
  for (;;) {
    const r = await api("GET", "/configs?limit=1000" + (after ? `&after=${encodeURIComponent(after)}` : ""));
    out.push(...(r.body.configs || []));
    if (!r.body.next) return out;
    after = r.body.next;
  }
}

async function pageConfigs(view) {
  const box = h("div", {id: "config-tree-box"});
  view.append(h("h1", {text: "Configs"}),
    h("p", {}, h("a", {href: "#/config/", text: "New config"})),
    h("h2", {text: "Inheritance"}), box);
  async function draw() {
    const cfgs = await allConfigs();
    const byId = new Map(cfgs.map((c) => [c.id, c]));
    const kids = new Map();
    for (const c of cfgs) for (const p of c.parent_ids || []) {
      if (!kids.has(p)) kids.set(p, []);
      kids.get(p).push(c.id);
    }
    const node = (id, path) => {
      const c = byId.get(id);
      const li = h("li", {}, h("a", {href: `#/config/${encodeURIComponent(id)}`, text: id}),
        c && c.description ? h("span.hint", {text: " — " + c.description}) : null);
      const ch = (kids.get(id) || []).filter((k) => !path.has(k));
      if (ch.length) li.append(h("ul", {}, ch.map((k) => node(k, new Set([...path, k])))));
      return li;
    };
    const roots = cfgs.filter((c) => !(c.parent_ids || []).some((p) => byId.has(p)));
    box.replaceChildren(cfgs.length ?
      h("ul.tree", {id: "config-tree", "aria-label": "Config inheritance"},
        roots.map((c) => node(c.id, new Set([c.id])))) :
      h("p", {text: "No configs yet."}));
  }
  await draw();
  // config events redraw the tree in place (batched; the focus stays where it is)
  let t = null;
  const listener = (ev) => {
    if (!ev.type || !ev.type.startsWith("config.") || t) return;
    t = setTimeout(() => { t = null; draw().catch(() => {}); }, BATCH_MS);
  };
  state.listeners.add(listener);
  current.leave = () => { state.listeners.delete(listener); clearTimeout(t); };
}

async function pageConfig(view, id) {
  const isNew = !id;
  let cfg = {id: "", parent_ids: [], raw_config: {}, description: ""};
  if (!isNew) cfg = (await api("GET", `/configs/${encodeURIComponent(id)}`)).body;
  view.append(h("h1", {text: isNew ? "New config" : `Config ${cfg.id}`}),
    h("p", {}, h("a", {href: "#/configs", text: "← all configs"})));
  const form = h("form", {id: "config-form", novalidate: true});
  const inId = h("input", {type: "text", value: cfg.id, "data-field": "id", readonly: !isNew,
    pattern: "[A-Za-z0-9_][A-Za-z0-9._-]{0,127}", required: true});
  const inParents = h("input", {type: "text", value: (cfg.parent_ids || []).join(", "), "data-field": "parent_ids"});
  const inDesc = h("input", {type: "text", value: cfg.description ?? "", "data-field": "description"});
  const inRaw = h("textarea", {rows: 14, "data-field": "raw_config", spellcheck: "false"});
  inRaw.value = pretty(cfg.raw_config ?? {});
  form.append(field("Id", inId, "1–128 of A–Z a–z 0–9 . _ -, not starting with ."),
    field("Parents", inParents, "config ids, comma separated, nearest first"),
    field("Description", inDesc),
    field("Config (JSON object)", inRaw, "e.g. {\"sip_lines\": [...], \"locale\": \"en_US\"}"),
    h("p.err.form-err", {role: "alert"}),
    h("div.actions", {}, h("button.primary", {type: "submit", text: isNew ? "Create" : "Save"}),
      isNew ? null : h("button.danger", {type: "button", text: "Delete", onclick: async () => {
        if (!confirm(`Delete config ${cfg.id}?`)) return;
        try {
          await api("DELETE", `/configs/${encodeURIComponent(cfg.id)}`);
          say("Deleted config " + cfg.id);
          location.hash = "#/configs";
        } catch (err) { fieldError(form, err); }
      }})));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    let raw;
    try {
      raw = JSON.parse(inRaw.value || "{}");
    } catch (err) {
      return fieldError(form, {field: "raw_config", message: "not valid JSON: " + err.message});
    }
    const body = {
      id: inId.value.trim(),
      parent_ids: inParents.value.split(",").map((s) => s.trim()).filter(Boolean),
      raw_config: raw,
    };
    if (inDesc.value.trim() || cfg.description) body.description = inDesc.value.trim();
    try {
      const r = isNew ? await api("POST", "/configs", body) :
        await api("PUT", `/configs/${encodeURIComponent(cfg.id)}`, body);
      if (r.status === 207) {
        $(".form-err", form).textContent = "Saved, but some devices were not re-rendered: " +
          JSON.stringify(r.body.rerender);
      } else {
        say("Saved config " + body.id);
      }
      if (isNew) location.hash = `#/config/${encodeURIComponent(body.id)}`;
    } catch (err) {
      if (err.status !== 401) fieldError(form, err);
    }
  });
  view.append(form);
  if (isNew) return;

  // what depends on it
  const cfgs = await allConfigs();
  const children = cfgs.filter((c) => (c.parent_ids || []).includes(cfg.id));
  const devs = (await api("GET", `/devices?limit=1000&config=${encodeURIComponent(cfg.id)}`)).body;
  view.append(h("h2", {text: "What depends on it"}),
    h("p", {text: `${children.length} config(s) inherit from it; ${devs.count}${devs.next ? "+" : ""} device(s) use it.`}),
    h("ul", {id: "config-children"}, children.map((c) =>
      h("li", {}, "config ", h("a", {href: `#/config/${encodeURIComponent(c.id)}`, text: c.id})))),
    h("ul", {id: "config-devices"}, devs.devices.slice(0, 200).map((d) =>
      h("li", {}, "device ", h("a", {href: `#/device/${encodeURIComponent(d.mac)}`, text: d.mac})))));
}

/* ---- Plugins and firmware -------------------------------------------- */

async function pagePlugins(view) {
  const plugins = await loadPlugins();
  view.append(h("h1", {text: "Plugins & firmware"}));
  const types = await loadPhoneTypes();
  view.append(h("h2", {text: "Phone types"}),
    h("div.table-wrap", {}, h("table", {id: "phone-types"},
      h("caption.sr", {text: "Phone types in display order"}),
      h("thead", {}, h("tr", {}, ["#", "Phone type", "Plugin", "Models", "Extra fields", "Notes"].map((t) =>
        h("th", {scope: "col", text: t})))),
      h("tbody", {}, types.map((t) => h("tr", {},
        h("td", {text: t.display_index ?? ""}), h("td", {text: t.name}), h("td", {text: t.plugin ?? ""}),
        h("td.wrap", {text: (t.models || []).join(", ")}),
        h("td.wrap", {text: (t.extra_fields || []).map((f) => `${f.name} (${f.type})`).join(", ")}),
        h("td", {text: [t.special ? "admin only" : "", t.prevent_sip ? "no SIP" : ""].filter(Boolean).join(", ")})))))));

  view.append(h("h2", {text: "Plugins"}));
  const byVendor = new Map();
  for (const p of plugins) {
    const v = p.vendor || "other";
    if (!byVendor.has(v)) byVendor.set(v, []);
    byVendor.get(v).push(p);
  }
  const box = h("div", {id: "plugins"});
  for (const v of [...byVendor.keys()].sort()) {
    for (const p of byVendor.get(v)) box.append(pluginCard(p));
  }
  view.append(box);
}

function pluginCard(p) {
  const body = h("div");
  const d = h("details", {"data-plugin": p.name},
    h("summary", {text: `${p.vendor || ""} — ${p.name} ${p.version || ""}`}),
    h("p", {text: p.description || ""}), body);
  let loaded = false;
  d.addEventListener("toggle", async () => {
    if (!d.open || loaded) return;
    loaded = true;
    try { await fillPlugin(p, body); } catch (e) { body.append(h("p.err", {text: e.message})); }
  });
  return d;
}

async function fillPlugin(p, body) {
  const m = await pluginMeta(p.name);
  const models = Object.entries(m.models || {});
  body.append(h("h3", {text: "Models"}), h("div.table-wrap", {}, h("table", {},
    h("thead", {}, h("tr", {}, ["Model", "Lines", "Keys", "Type", "Firmware"].map((t) => h("th", {scope: "col", text: t})))),
    h("tbody", {}, models.map(([name, x]) => h("tr", {}, h("td", {text: name}), h("td", {text: x.lines ?? ""}),
      h("td", {text: x.function_keys ?? ""}), h("td", {text: x.type ?? ""}), h("td", {text: x.firmware_version ?? ""})))))));
  const pts = (m.phone_types || []).slice().sort((a, b) => (a.display_index ?? 0) - (b.display_index ?? 0));
  body.append(h("h3", {text: "Phone types"}),
    pts.length ? h("ol", {}, pts.map((t) => h("li", {text: `${t.name}${t.special ? " (admin only)" : ""}: ${(t.models || []).join(", ")}`}))) :
      h("p", {text: "none"}));
  body.append(h("h3", {text: "Firmware packages"}));
  const r = await api("GET", `/plugins/${encodeURIComponent(p.name)}/packages`);
  const pk = r.body.packages;
  const list = Array.isArray(pk) ? pk : Object.entries(pk || {}).map(([name, x]) => Object.assign({name}, x));
  if (!list.length) { body.append(h("p", {text: "No firmware packages."})); return; }
  body.append(h("ul.packages", {}, list.map((x) => packageRow(p.name, x))));
}

/* An operation's progress as a bar: the API reports steps, not bytes
 * (queued, then worker, then ok or failed). */
function opPercent(o) {
  if (o.state === "ok") return 100;
  if (o.state !== "running") return null;
  return o.progress === "worker" ? 50 : 20;
}

function packageRow(plugin, x) {
  const name = x.name || x.id;
  const bar = h("progress", {max: 100, value: 0, "aria-label": `${name} progress`, hidden: true});
  const txt = h("span.op-state", {"aria-live": "polite"});
  const installed = () => x.installed === true || x.state === "installed";
  const label = h("span", {text: installed() ? "installed" : "not installed"});
  const run = (install) => async (e) => {
    e.target.disabled = true;
    bar.hidden = false;
    bar.value = 5;
    txt.textContent = "starting";
    try {
      const r = await api(install ? "POST" : "DELETE",
        `/plugins/${encodeURIComponent(plugin)}/packages/${encodeURIComponent(name)}`);
      const op = await followOperation(r.body, (o) => {
        const pc = opPercent(o);
        if (pc !== null) bar.value = pc;
        txt.textContent = o.state === "running" ? `${o.progress || "running"} ${bar.value} %` :
          o.state === "ok" ? `${install ? "installed" : "uninstalled"} 100 %` : `${o.state}: ${o.error || ""}`;
      });
      if (op.state === "ok") {
        x.installed = install;
        label.textContent = install ? "installed" : "not installed";
      }
    } catch (err) {
      txt.textContent = `${err.message} (${err.status || "?"})`;
    }
    e.target.disabled = false;
  };
  return h("li", {"data-package": name}, h("strong", {text: name}), ` ${x.version || ""} — ${x.description || ""} — `, label, " ",
    isAdmin() ? h("button", {type: "button", text: "Install", onclick: run(true), "aria-label": `Install ${name}`}) : null, " ",
    isAdmin() ? h("button", {type: "button", text: "Uninstall", onclick: run(false), "aria-label": `Uninstall ${name}`}) : null, " ",
    bar, " ", txt);
}

/* ---- Call records ---------------------------------------------------- */

const REC_COLS = ["seq", "ts", "monitor", "direction", "number", "ext", "start", "duration_s", "line", "trunk"];

async function pageRecords(view) {
  const form = h("form.filters", {id: "records-filter"});
  const f = {};
  for (const [k, label, hint] of [["monitor", "Monitor", "plugin/name or plugin"], ["number", "Number", "glob: * ?"],
    ["ext", "Extension", "glob"], ["from", "From", "2024-06-28 or epoch"], ["to", "To", ""]]) {
    f[k] = h("input", {type: "text", "data-field": k, name: k});
    form.append(field(label, f[k], hint));
  }
  f.direction = h("select", {"data-field": "direction", name: "direction"},
    ["", "incoming", "outgoing", "internal", "missed"].map((v) => h("option", {value: v, text: v || "any"})));
  form.append(field("Direction", f.direction),
    h("div.actions", {}, h("button.primary", {type: "submit", text: "Apply"}),
      h("button", {type: "button", text: "Export CSV", onclick: () =>
        download("/records?" + query(true), "records.csv").catch((err) => fieldError(form, err))})),
    h("p.err.form-err", {role: "alert"}));
  const tbody = h("tbody");
  const info = h("p", {"aria-live": "polite"});
  view.append(h("h1", {text: "Call records"}), form, info, h("div.table-wrap", {}, h("table", {id: "records"},
    h("caption.sr", {text: "Call records"}),
    h("thead", {}, h("tr", {}, REC_COLS.map((c) => h("th", {scope: "col", text: c})))), tbody)));
  let recs = [], next = 0;
  function query(csv) {
    const q = new URLSearchParams();
    for (const [k, inp] of Object.entries(f)) if (inp.value.trim()) q.set(k, inp.value.trim());
    q.set("limit", "10000");
    if (csv) q.set("format", "csv");
    return q.toString();
  }
  async function load(more) {
    clearErrors(form);
    try {
      const r = await api("GET", "/records?" + query(false) + (more ? `&since=${next}` : ""));
      recs = more ? recs.concat(r.body.records) : r.body.records;
      next = r.body.next;
      if (recs.length > 5000) recs = recs.slice(-5000);
    } catch (err) {
      if (err.status !== 401) fieldError(form, err);
      return;
    }
    draw();
  }
  function draw() {
    const frag = document.createDocumentFragment();
    for (const r of recs.slice().reverse().slice(0, 500)) {
      frag.append(h("tr", {}, REC_COLS.map((c) => h("td", {text: c === "ts" ? fmtTime(r[c]) : r[c] ?? ""}))));
    }
    tbody.replaceChildren(frag);
    info.textContent = `${recs.length} record(s), newest first` + (recs.length > 500 ? " (500 shown)" : "");
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); load(false); });
  await load(false);
  let t = null;
  const listener = (ev) => {
    if (ev.type !== "record" || t) return;
    t = setTimeout(() => { t = null; load(true); }, BATCH_MS);
  };
  state.listeners.add(listener);
  current.leave = () => { state.listeners.delete(listener); clearTimeout(t); };
}

/* ---- Identify -------------------------------------------------------- */

async function pageIdentify(view) {
  const form = h("form", {id: "identify-form", novalidate: true});
  const f = {};
  for (const [k, label, hint] of [
    ["user_agent", "HTTP User-Agent", "e.g. Yealink SIP-T46S 66.86.0.15 80:5e:c0:a1:b2:c3"],
    ["dhcp_vci", "DHCP option 60 (vendor class)", "e.g. yealink SIP-T46S 66.86.0.15"],
    ["http_path", "HTTP path", "e.g. /805ec0a1b2c3.cfg"],
    ["tftp_file", "TFTP file name", "e.g. SEP001122334455.cnf.xml"],
  ]) {
    f[k] = h("input", {type: "text", name: k, "data-field": k});
    form.append(field(label, f[k], hint));
  }
  const out = h("div", {id: "identify-result", "aria-live": "polite"});
  form.append(h("p.err.form-err", {role: "alert"}), h("button.primary", {type: "submit", text: "Identify"}));
  view.append(h("h1", {text: "Identify"}),
    h("p", {text: "Paste what a phone sent: phoneprov shows what it extracts, every plugin's score and the plugin it would choose."}),
    form, out);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = {};
    for (const [k, inp] of Object.entries(f)) if (inp.value.trim()) body[k] = inp.value.trim();
    if (!Object.keys(body).length) return fieldError(form, {field: "user_agent", message: "give at least one input"});
    let r;
    try { r = (await api("POST", "/identify", body)).body; } catch (err) {
      if (err.status !== 401) fieldError(form, err);
      return;
    }
    const order = {EXACT: 0, COMPLETE: 1, PROBABLE: 2, IMPROBABLE: 3};
    out.replaceChildren(h("h2", {text: "Result"}),
      h("dl.kv", {id: "identify-facts"},
        ["vendor", "model", "version", "mac", "serial"].map((k) => [h("dt", {text: k}),
          h("dd", {text: (r[k] ?? "—") + (r.from && r.from[k] ? ` (from ${r.from[k].source}, plugin ${r.from[k].plugin})` : "")})]),
        h("dt", {text: "chosen plugin"}), h("dd", {id: "identify-plugin", text: r.plugin ?? "none"}),
        h("dt", {text: "score"}), h("dd", {text: r.score}),
        h("dt", {text: "canonical model"}), h("dd", {text: r.canonical_model ?? "—"})),
      h("div.table-wrap", {}, h("table", {},
        h("thead", {}, h("tr", {}, h("th", {scope: "col", text: "Plugin"}), h("th", {scope: "col", text: "Score"}))),
        h("tbody", {}, Object.entries(r.scores || {}).sort((a, b) => (order[a[1]] ?? 9) - (order[b[1]] ?? 9) ||
          a[0].localeCompare(b[0])).map(([p, s]) => h(`tr${p === r.plugin ? ".win" : ""}`, {},
          h("td", {text: p}), h("td", {text: s})))))),
      h("details", {}, h("summary", {text: "JSON (as phoneprov identify)"}), h("pre", {text: pretty(r)})));
  });
}

/* ---- start ----------------------------------------------------------- */

document.addEventListener("DOMContentLoaded", () => {
  $("#signin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const v = $("#token").value.trim();
    if (!v) { showSignIn("Enter a token."); return; }
    $("#token").value = "";
    signIn(v);
  });
  $("#signout").addEventListener("click", () => signOut(""));
  // the routes live in the hash: the skip link moves the focus itself
  $(".skip").addEventListener("click", (e) => { e.preventDefault(); $("#main").focus(); });
  window.addEventListener("hashchange", () => { if (token()) route(); });
  if (token()) signIn(token());
  else showSignIn();
});
