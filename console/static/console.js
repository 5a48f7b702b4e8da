// FEBLAM dispatch console: the page. It renders what the console's API and stream
// send (docs/console.md) and sends actions; it decides no state itself. Every text
// from the server goes in with textContent, never as HTML.
"use strict";

const PRIORITY = { P1: 0, P2: 1, P3: 2, P4: 3 };
const LIST_STEP = 200;      // rows the list shows at first, and adds at each "show more"
const KIND_WORDS = { INTERCEPT: "INTERCEPT", DO_NOT_STOP: "DO NOT STOP", INFORMATION_ONLY: "INFORMATION ONLY" };
const ACTION_WORDS = { ACKNOWLEDGE: "acknowledged", ACCEPT: "accepted", REJECT: "rejected", CLOSE: "closed" };
// Which actions the state table allows (hit-gateway spec §5): buttons for the others are
// greyed out; the gateway still decides, and its refusal is shown if it disagrees.
const ALLOWED = { NEW: ["ACKNOWLEDGE", "ACCEPT", "REJECT"], ACKNOWLEDGED: ["ACCEPT", "REJECT"], ACCEPTED: ["CLOSE"] };
// The small map of sightings: Belgium's bounding box, and its border drawn coarsely
// (lon, lat), enough to tell the coast from the Ardennes.
const MAP = { west: 2.5, east: 6.45, south: 49.45, north: 51.55, width: 200, height: 120 };
const BORDER = [[2.54, 51.09], [3.37, 51.37], [3.82, 51.21], [4.38, 51.37], [4.68, 51.45], [4.94, 51.41],
  [5.10, 51.47], [5.24, 51.31], [5.50, 51.29], [5.85, 51.15], [5.64, 50.85], [5.70, 50.76], [6.02, 50.75],
  [6.27, 50.62], [6.40, 50.32], [6.13, 50.13], [5.97, 50.17], [5.75, 49.85], [5.81, 49.55], [5.47, 49.50],
  [4.85, 49.79], [4.87, 50.15], [4.68, 49.98], [4.23, 49.96], [4.15, 50.27], [3.66, 50.40], [3.29, 50.53],
  [3.02, 50.77], [2.87, 50.70], [2.61, 50.82]];

const $ = (id) => document.getElementById(id);
const state = {
  me: null, cards: new Map(), selected: null, stream: null, clockOffset: 0, limit: LIST_STEP,
  // Measurements the browser tests read: when each card streamed in was on screen,
  // and how long each action took until the gateway's answer was shown.
  shown: [], actions: [],
};
window.feblam = state;

function now() { return Date.now() + state.clockOffset; }

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function age(ms) {
  const s = Math.max(0, Math.round((now() - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
  return new Date(ms).toLocaleString();
}

function clock(ms) { return new Date(ms).toLocaleTimeString(); }

function countdown(card) {
  if (!card.ack_deadline || card.state !== "NEW") return null;
  const s = Math.round((card.ack_deadline - now()) / 1000);
  if (s <= 0) return { text: "escalating to the national centre now", late: true };
  return { text: `escalates in ${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")} unless acknowledged`, late: s <= 10 };
}

function order(a, b) {
  return (PRIORITY[a.priority] ?? 9) - (PRIORITY[b.priority] ?? 9) || b.delivered_at - a.delivered_at
    || (a.delivery_id < b.delivery_id ? -1 : 1);
}

async function api(path, options = {}) {
  const headers = { "Accept": "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (options.csrf && state.me) headers["X-CSRF-Token"] = state.me.csrf;
  const response = await fetch(path, {
    method: options.method || "GET", headers, credentials: "same-origin", cache: "no-store",
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  let body = {};
  try { body = await response.json(); } catch (e) { /* an empty answer */ }
  return { status: response.status, body };
}

// ---- login -------------------------------------------------------------------------

function showLogin(message) {
  if (state.stream) { state.stream.close(); state.stream = null; }
  state.me = null; state.cards.clear(); state.selected = null;
  $("board-view").hidden = true; $("who").hidden = true; $("login-view").hidden = false;
  $("login-error").textContent = message || "";
  $("login-password").value = "";
  $("login-user").focus();
}

async function login(event) {
  event.preventDefault();
  const { status, body } = await api("/api/login", { method: "POST",
    body: { user: $("login-user").value, password: $("login-password").value } });
  if (status === 200) { start(body); return; }
  $("login-error").textContent = status === 429
    ? `Too many failed logins: try again in ${Math.ceil(body.retry_after_s / 60)} min.`
    : (body.error || "Login failed.");
  $("login-password").value = "";
}

async function logout() {
  await api("/api/logout", { method: "POST", body: {} });
  showLogin("Logged out.");
}

function start(me) {
  state.me = me;
  $("login-view").hidden = true; $("board-view").hidden = false; $("who").hidden = false;
  $("user").textContent = `${me.user} (${me.role})`;
  $("destinations").textContent = me.destinations.map((d) => d.display_name).join(", ");
  fillChoices($("reason"), me.reasons, "Reason…");
  fillChoices($("outcome"), me.outcomes, "Outcome…");
  $("note").placeholder = me.note_required_for.length ? `Note (needed for ${me.note_required_for.join(", ")})` : "Note";
  $("actions").hidden = me.role !== "dispatcher";
  connect();
}

function fillChoices(select, codes, prompt) {
  select.replaceChildren(el("option", null, prompt));
  select.firstChild.value = "";
  for (const code of codes) {
    const option = el("option", null, code.replaceAll("_", " ").toLowerCase());
    option.value = code;
    select.appendChild(option);
  }
}

// ---- the live stream ---------------------------------------------------------------

function connect() {
  if (state.stream) state.stream.close();
  const link = $("link");
  link.textContent = "connecting"; link.className = "link";
  const stream = new EventSource("/api/stream");
  state.stream = stream;
  stream.addEventListener("snapshot", (event) => {
    const data = JSON.parse(event.data);
    state.clockOffset = data.now - Date.now();
    state.cards.clear();
    for (const card of data.deliveries) state.cards.set(card.delivery_id, card);
    pending.clear();
    drawList();
    renderDetail();
    link.textContent = data.ready ? "live" : "loading"; link.className = "link live";
  });
  stream.addEventListener("message", (event) => {
    const data = JSON.parse(event.data);
    if (data.type === "card") onCard(data.card);
    else if (data.type === "feedback") onFeedback(data);
    else if (data.type === "dropped") connect();
  });
  stream.addEventListener("expired", () => showLogin("Your session ended: log in again."));
  stream.onerror = async () => {
    link.textContent = "reconnecting"; link.className = "link down";
    if (stream.readyState === EventSource.CLOSED) {
      const { status } = await api("/api/session");
      if (status === 401) showLogin("Your session ended: log in again.");
      else setTimeout(connect, 1000);
    }
  };
}

// Changes are drawn once per frame, however many came: under a centre's load (tens of
// hits a second) drawing each as it comes would keep the page busy relaying itself out.
const pending = new Map();   // delivery_id -> whether the card is new on the page
let frame = null;

function onCard(card) {
  const known = state.cards.has(card.delivery_id);
  if (card.open) state.cards.set(card.delivery_id, card);
  else state.cards.delete(card.delivery_id);
  pending.set(card.delivery_id, pending.get(card.delivery_id) || (!known && card.open));
  if (frame === null) frame = requestAnimationFrame(drawPending);
  if (state.selected === card.delivery_id) {
    if (card.open) loadDetail(card.delivery_id); else keepClosed(card);
  }
}

function drawPending() {
  frame = null;
  const fresh = new Set([...pending].filter(([, isNew]) => isNew).map(([id]) => id));
  pending.clear();
  drawList(fresh);
  // The browser's own clock: the benchmark runs on the machine whose clock stamped the delivery.
  const drawnAt = Date.now();
  for (const id of fresh) {   // those drawn: a new card below the list's limit is counted, not shown
    const card = state.cards.get(id);
    if (card && rows.has(id)) state.shown.push({ delivery_id: id, delivered_at: card.delivered_at, shown_at: drawnAt });
  }
}

function onFeedback(data) {
  const notice = data.feedback;
  const box = $("feedback");
  box.hidden = false;
  box.textContent = `Feedback for ${notice.list_name} entry ${notice.entry_id || "?"}: ${notice.reason}`
    + (notice.note ? ` (${notice.note})` : "") + ` from ${notice.from_destination}, ${age(notice.at)}`;
}

// ---- the list ----------------------------------------------------------------------

const rows = new Map();   // delivery_id -> <li>

function metaText(card) {
  const seen = card.last_seen;
  const parts = [`seen ${age(seen.at)} at ${seen.place} (${seen.camera_id})`];
  if (card.escalated_from) parts.push(`escalated from ${card.escalated_from}`);
  if (card.taken_by) parts.push(`taken by ${card.taken_by.taken_by}`);
  return parts.join(" · ");
}

function cardRow(card) {
  const li = el("li", `card ${card.priority}`);
  li.dataset.id = card.delivery_id;
  li.card = card;
  const middle = el("span");
  middle.append(el("span", "plate", card.plate), " ", el("span", null, card.country || ""), " ",
                el("span", null, card.list_name));
  const tags = el("span", "tags");
  tags.append(el("span", `kind ${card.instruction.kind}`, KIND_WORDS[card.instruction.kind]),
              el("span", `state ${card.state}`, card.state.toLowerCase()));
  if (card.covert) tags.append(el("span", "covert", "covert"));
  li.meta = el("span", "meta", metaText(card));
  li.countdown = el("span", "meta countdown");
  li.append(el("span", `p ${card.priority}`, card.priority), middle, tags, li.meta, li.countdown);
  tick(li, card, false);
  if (card.delivery_id === state.selected) li.classList.add("selected");
  li.addEventListener("click", () => select(card.delivery_id));
  return li;
}

// Ages and countdowns move on without the server: text updates only, no new rows.
function tick(li, card, ages) {
  const cd = countdown(card);
  li.countdown.hidden = !cd;
  if (cd) { li.countdown.textContent = cd.text; li.countdown.classList.toggle("late", cd.late); }
  if (ages) li.meta.textContent = metaText(card);
}

// The list shows the first `limit` cards in order, the most urgent (a dispatcher works
// from the top; "show more" adds the next ones): a list of thousands of rows would cost
// the page a relayout of thousands of rows for every hit that comes in. The rows on
// screen are kept and moved; a row is made again only for a card that changed.
function drawList(fresh = new Set()) {
  const visible = [...state.cards.values()].sort(order).slice(0, state.limit);
  const shown = new Set(visible.map((card) => card.delivery_id));
  for (const [id, li] of rows) if (!shown.has(id)) { li.remove(); rows.delete(id); }
  const list = $("cards");
  let cursor = list.firstChild;
  for (const card of visible) {
    let li = rows.get(card.delivery_id);
    if (!li || li.card !== card) {
      const made = cardRow(card);
      if (fresh.has(card.delivery_id)) { made.classList.add("fresh"); setTimeout(() => made.classList.remove("fresh"), 4000); }
      if (li) { if (cursor === li) cursor = li.nextSibling; li.remove(); }
      li = made;
      rows.set(card.delivery_id, li);
    }
    if (li === cursor) cursor = cursor.nextSibling;
    else list.insertBefore(li, cursor);
  }
  const hidden = state.cards.size - visible.length;
  $("more").hidden = hidden <= 0;
  $("more").textContent = `${hidden} more open hits, less urgent or older: show ${Math.min(hidden, LIST_STEP)} more`;
  renderCount();
}

function renderCount() {
  $("count").textContent = String(state.cards.size);
  $("empty").hidden = state.cards.size > 0;
}

// ---- the selected hit --------------------------------------------------------------

async function select(id) {
  // Two rows change, not all of them: a class set on a thousand rows restyles a thousand rows.
  rows.get(state.selected)?.classList.remove("selected");
  rows.get(id)?.classList.add("selected");
  state.selected = id;
  $("action-result").textContent = ""; $("action-result").className = "";
  await loadDetail(id);
}

async function loadDetail(id) {
  const { status, body } = await api(`/api/deliveries/${encodeURIComponent(id)}`);
  if (state.selected !== id) return;
  if (status === 401) { showLogin("Your session ended: log in again."); return; }
  state.detail = status === 200 ? body : null;
  renderDetail();
}

function keepClosed(card) {
  if (state.detail && state.detail.delivery_id === card.delivery_id) {
    state.detail = { ...state.detail, ...card };
    renderDetail();
  }
}

function renderDetail() {
  const d = state.detail && state.selected === state.detail.delivery_id ? state.detail : null;
  $("detail").hidden = !d; $("no-selection").hidden = !!d;
  if (!d) return;
  $("d-instruction").className = `instruction ${d.instruction.kind}`;
  $("d-instruction-kind").textContent = KIND_WORDS[d.instruction.kind];
  $("d-instruction-text").textContent = d.instruction.text || "No instructions with this entry.";
  $("d-priority").textContent = d.priority; $("d-priority").className = `p ${d.priority}`;
  $("d-plate").textContent = d.plate; $("d-country").textContent = d.country || "";
  $("d-state").textContent = d.state.toLowerCase(); $("d-state").className = `state ${d.state}`;
  $("d-list").textContent = `${d.list_name} (${d.match_kind.toLowerCase().replaceAll("_", " ")})${d.retro ? ", found afterwards in the history" : ""}`;
  $("d-explanation").textContent = d.explanation;
  const seen = d.last_seen;
  $("d-last-seen").textContent = `${age(seen.at)} (${clock(seen.at)}), camera ${seen.camera_id}, ${seen.place}`;
  $("d-case").textContent = d.case_ref || "—";
  $("d-taken").hidden = !d.taken_by;
  if (d.taken_by) $("d-taken").textContent = `Taken by ${d.taken_by.taken_by} (${d.taken_by.user}) ${age(d.taken_by.at)}: another centre is intervening.`;
  $("d-escalated").hidden = !d.escalated_from;
  if (d.escalated_from) $("d-escalated").textContent = `Escalated from ${d.escalated_from}: nobody there acknowledged it in time.`;
  renderCountdown();
  const allowed = ALLOWED[d.state] || [];
  for (const button of document.querySelectorAll("#actions button")) button.disabled = !allowed.includes(button.dataset.action);
  const tbody = $("d-sightings").tBodies[0];
  tbody.replaceChildren(...(d.sightings_list || []).map((s) => {
    const tr = el("tr");
    tr.append(el("td", null, `${clock(s.event_time)} (${age(s.event_time)})`), el("td", null, s.camera_id), el("td", null, s.place));
    return tr;
  }));
  $("d-history").replaceChildren(...(d.history || []).map((h) => el("li", null,
    `${clock(h.at)}: ${h.from.toLowerCase()} → ${h.to.toLowerCase()}` + (h.user ? ` by ${h.user}` : " (timeout)"))));
  drawMap(d);
}

function renderCountdown() {
  const d = state.detail;
  const box = $("d-countdown");
  const cd = d && state.selected === d.delivery_id ? countdown(state.cards.get(d.delivery_id) || d) : null;
  box.hidden = !cd;
  if (cd) { box.textContent = cd.text; box.className = `countdown${cd.late ? " late" : ""}`; }
}

function drawMap(d) {
  const svg = $("d-map");
  const ns = "http://www.w3.org/2000/svg";
  const points = [...(d.sightings_list || [])].reverse().filter((s) => s.lat != null && s.lon != null);
  if (d.last_seen && !d.last_seen.sighting && d.last_seen.lat != null) points.push(d.last_seen);
  const xy = (p) => [(p.lon - MAP.west) / (MAP.east - MAP.west) * MAP.width,
                     (MAP.north - p.lat) / (MAP.north - MAP.south) * MAP.height];
  const frame = document.createElementNS(ns, "rect");
  for (const [k, v] of Object.entries({ x: 0.5, y: 0.5, width: MAP.width - 1, height: MAP.height - 1, class: "frame" })) frame.setAttribute(k, v);
  const country = document.createElementNS(ns, "polygon");
  country.setAttribute("points", BORDER.map(([lon, lat]) => xy({ lon, lat }).join(",")).join(" "));
  country.setAttribute("class", "country");
  const shapes = [frame, country];
  if (points.length > 1) {
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.map((p) => xy(p).join(",")).join(" "));
    line.setAttribute("class", "trail");
    shapes.push(line);
  }
  points.forEach((p, i) => {
    const dot = document.createElementNS(ns, "circle");
    const [x, y] = xy(p);
    dot.setAttribute("cx", x); dot.setAttribute("cy", y); dot.setAttribute("r", i === points.length - 1 ? 4 : 2.5);
    dot.setAttribute("class", i === points.length - 1 ? "last" : "seen");
    shapes.push(dot);
  });
  svg.replaceChildren(...shapes);
  svg.hidden = points.length === 0;
}

// ---- actions -----------------------------------------------------------------------

async function act(action) {
  const d = state.detail;
  if (!d) return;
  const result = $("action-result");
  const body = { action };
  if (action === "REJECT") body.reason = $("reason").value || null;
  if (action === "CLOSE") body.outcome = $("outcome").value || null;
  if ($("note").value.trim()) body.note = $("note").value.trim();
  result.textContent = "Sending…"; result.className = "";
  const started = performance.now();
  const { status, body: answer } = await api(`/api/deliveries/${encodeURIComponent(d.delivery_id)}/actions`,
                                            { method: "POST", body, csrf: true });
  if (status === 200) {
    result.textContent = `Done: ${ACTION_WORDS[action]}, now ${answer.state.toLowerCase()}.`; result.className = "done";
    $("note").value = "";
  } else if (status === 409) {
    result.textContent = `Refused by the gateway: ${answer.refused}`; result.className = "refused";
  } else if (status === 202) {
    result.textContent = "Sent; the gateway has not answered yet. The list shows its answer when it comes.";
  } else if (status === 401) {
    showLogin("Your session ended: log in again."); return;
  } else {
    result.textContent = answer.error || `Not sent (${status}).`; result.className = "refused";
  }
  state.actions.push({ action, status, ms: performance.now() - started });
}

// ---- start ---------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", async () => {
  $("login").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("more").addEventListener("click", () => { state.limit += LIST_STEP; drawList(); });
  for (const button of document.querySelectorAll("#actions button")) button.addEventListener("click", () => act(button.dataset.action));
  let ticks = 0;
  setInterval(() => {
    ticks += 1;
    for (const [id, li] of rows) {
      const card = state.cards.get(id);
      if (card && (card.ack_deadline || ticks % 15 === 0)) tick(li, card, ticks % 15 === 0);
    }
    renderCountdown();
  }, 1000);
  const { status, body } = await api("/api/session");
  if (status === 200) start(body); else showLogin("");
});
