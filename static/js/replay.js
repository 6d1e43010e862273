// The replay viewer: flip through a stream's states. Windows of states are fetched around the
// cursor from /data/replay (the server folds once from the newest snapshot), cached, and
// rendered with what each event changed highlighted.

import { jsonViewer } from "./jsonview.js";
import { isoUtc, timeElement } from "./time.js";

const root = document.getElementById("replay");
const streamId = root.dataset.stream;
let head = Number(root.dataset.head);
const WINDOW = 20;
const PREFETCH = 5; // fetch the next window when the cursor is this close to a cached edge
const KEEP = 400; // cached versions kept around the cursor

const $ = (id) => document.getElementById(id);
const slider = $("rp-version");
const timeSlider = $("rp-time");
const playButton = $("rp-play");
const status = $("rp-status");

const steps = new Map(); // version -> {version, event, state, diff}
let cursor = Number(root.dataset.version) || head;
let playing = null;
let pending = null; // the fetch in flight (one at a time)
let timeRange = null;
let markersDrawn = false;
let basis = root.dataset.basis === "recorded" ? "recorded" : "natural";
const rangeNote = $("rp-range");

function outOfRange(asked, shown) {
  rangeNote.textContent = `Version ${asked} is out of range: this stream has versions 1 to ${head}. Showing version ${shown} instead.`;
  rangeNote.hidden = false;
}

// ---- data ------------------------------------------------------------------------------

async function fetchWindow(params) {
  // Snapshot markers and the time span come with the first answer only (they cost a read
  // of every snapshot); the windows fetched while stepping leave them out.
  const overview = timeRange === null && !markersDrawn ? "1" : "0";
  const query = new URLSearchParams({ stream: streamId, window: String(WINDOW), overview, ...params });
  const response = await fetch(`/data/replay?${query}`, { headers: { Accept: "application/json" } });
  let body = null;
  try {
    body = await response.json();
  } catch {
    throw new Error(`The server answered ${response.status} without data; retry.`);
  }
  if (!response.ok) {
    const error = new Error(body?.error?.message || `The server answered ${response.status}.`);
    error.status = response.status;
    throw error;
  }
  head = body.stream.head;
  slider.max = String(head);
  for (const step of body.steps) steps.set(step.version, step);
  for (const version of steps.keys()) {
    if (Math.abs(version - body.version) > KEEP) steps.delete(version);
  }
  if (body.snapshots) drawMarkers(body.snapshots);
  if (body.time) setupTime(body.time);
  return body;
}

function load(params) {
  if (pending) return pending;
  pending = fetchWindow(params)
    .then((body) => {
      if (status.querySelector(".loading, .error")) status.textContent = ""; // keep other notes
      return body;
    })
    .catch((error) => {
      pause();
      showError(error);
      throw error;
    })
    .finally(() => {
      pending = null;
    });
  return pending;
}

function showError(error) {
  status.replaceChildren();
  const text = document.createElement("span");
  text.className = "error";
  if (error.status === 401) {
    text.append("Your session has ended. ");
    const link = document.createElement("a");
    link.href = `/login/?next=${encodeURIComponent(location.pathname + location.search)}`;
    link.textContent = "Log in again";
    text.append(link);
  } else {
    text.textContent = `Could not load the states: ${error.message} `;
    const retry = document.createElement("button");
    retry.type = "button";
    retry.className = "btn";
    retry.textContent = "Retry";
    retry.addEventListener("click", () => go(cursor));
    text.append(retry);
  }
  status.append(text);
}

// ---- moving the cursor -------------------------------------------------------------------

async function go(version, { explicit = false } = {}) {
  const asked = Math.round(version);
  version = Math.max(1, Math.min(head, asked));
  if (explicit && asked !== version) outOfRange(asked, version);
  else if (explicit) rangeNote.hidden = true;
  cursor = version;
  slider.value = String(version);
  // A fetch already in flight may be for another window: wait for it, then ask again.
  for (let attempt = 0; !steps.has(version) && attempt < 3; attempt++) {
    status.innerHTML = `<span class="loading">Loading the states around version ${version}…</span>`;
    try {
      await load({ version: String(version) });
    } catch {
      return;
    }
    if (cursor !== version) return; // the user moved on meanwhile
  }
  render(version);
  prefetch(version);
}

function prefetch(version) {
  if (pending) return;
  const ahead = Math.min(head, version + PREFETCH);
  const behind = Math.max(1, version - PREFETCH);
  if (!steps.has(ahead)) load({ version: String(Math.min(head, version + WINDOW)) }).catch(() => {});
  else if (!steps.has(behind)) load({ version: String(Math.max(1, version - WINDOW)) }).catch(() => {});
}

function step(delta) {
  go(cursor + delta);
}

function play() {
  if (playing) return;
  if (cursor >= head) go(1); // at the end, play starts over
  playButton.setAttribute("aria-pressed", "true");
  playButton.textContent = "❚❚ Pause";
  const tick = () => {
    if (cursor >= head) return pause();
    if (pending && !steps.has(cursor + 1)) return; // wait for the next window, skip nothing
    step(1);
  };
  playing = setInterval(tick, Number($("rp-speed").value));
}

function pause() {
  if (!playing) return;
  clearInterval(playing);
  playing = null;
  playButton.setAttribute("aria-pressed", "false");
  playButton.textContent = "▶ Play";
}

function togglePlay() {
  if (playing) pause();
  else play();
}

// ---- rendering ---------------------------------------------------------------------------

const pathKey = (path) => JSON.stringify(path);

function render(version) {
  const current = steps.get(version);
  if (!current) return;
  if (status.dataset.version && Number(status.dataset.version) !== version) {
    status.textContent = ""; // the time note was about another version
    delete status.dataset.version;
    $("rp-asof").hidden = true;
  }
  $("rp-position").innerHTML = `version <b>${version}</b> of ${head}`;
  $("rp-state-version").textContent = String(version);
  const url = new URL(location.href);
  url.searchParams.set("version", String(version));
  url.searchParams.delete("at");
  if (basis === "recorded") url.searchParams.set("basis", "recorded");
  else url.searchParams.delete("basis");
  history.replaceState(null, "", url);

  const changes = new Map(current.diff.map((change) => [pathKey(change.path), change]));
  const tree = $("rp-state");
  tree.replaceChildren(renderValue(current.state, [], changes, current.diff));
  if (changes.has(pathKey([]))) tree.firstChild.classList.add(`diff-${changes.get(pathKey([])).op}`);

  renderEvent(current.event);
  renderChanges(current.diff);
  if (timeRange) {
    // The slider stops at events, evenly spaced: this version's stop, labelled with the time
    // it was reached (natural) or recorded (as known).
    timeSlider.value = String(version);
    const iso = basis === "recorded" ? current.event.recorded_at : current.reached_at || current.event.timestamp || current.event.recorded_at;
    $("rp-time-label").textContent = formatTime(Date.parse(iso));
  }
}

function scalar(value) {
  const span = document.createElement("span");
  span.className = `json-${value === null ? "null" : typeof value}`;
  span.textContent = JSON.stringify(value);
  return span;
}

function renderValue(value, path, changes, diff) {
  if (value === null || typeof value !== "object") return scalar(value);
  const list = document.createElement("ul");
  const isArray = Array.isArray(value);
  list.className = isArray ? "json-array" : "json-object";
  const entries = isArray ? value.map((v, i) => [i, v]) : Object.entries(value);
  if (!entries.length && !diff.some((c) => c.op === "removed" && pathKey(c.path.slice(0, -1)) === pathKey(path))) {
    const empty = document.createElement("span");
    empty.className = "json-empty";
    empty.textContent = isArray ? "[]" : "{}";
    return empty;
  }
  for (const [key, child] of entries) {
    const childPath = [...path, key];
    const item = document.createElement("li");
    item.dataset.key = String(key);
    item.dataset.path = pathKey(childPath);
    const change = changes.get(pathKey(childPath));
    if (change) {
      item.classList.add(`diff-${change.op}`);
      if (change.op === "changed") item.title = `was ${JSON.stringify(change.before)}`;
    } else if (diff.some((c) => c.path.length > childPath.length && pathKey(c.path.slice(0, childPath.length)) === pathKey(childPath))) {
      item.classList.add("diff-inside");
    }
    const label = document.createElement("span");
    label.className = "json-key";
    label.textContent = isArray ? `${key}:` : `${JSON.stringify(key)}:`;
    item.append(label, " ", renderValue(child, childPath, changes, diff));
    if (change?.op === "changed") {
      const was = document.createElement("span");
      was.className = "json-was";
      was.textContent = `was ${short(change.before)}`;
      item.append(" ", was);
    }
    list.append(item);
  }
  // Keys the event removed are shown where they were, struck through.
  for (const change of diff) {
    if (change.op !== "removed" || pathKey(change.path.slice(0, -1)) !== pathKey(path)) continue;
    const item = document.createElement("li");
    const key = change.path[change.path.length - 1];
    item.dataset.key = String(key);
    item.dataset.path = pathKey(change.path);
    item.className = "diff-removed";
    const label = document.createElement("span");
    label.className = "json-key";
    label.textContent = isArray ? `${key}:` : `${JSON.stringify(key)}:`;
    item.append(label, " ", scalar(change.before));
    item.querySelector("span:last-child").textContent = short(change.before);
    list.append(item);
  }
  return list;
}

function short(value) {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

function formatTime(ms) {
  // The console's one format: ISO 8601 in UTC (time.js writes <time> elements the same way).
  if (!Number.isFinite(ms)) return "";
  return isoUtc(new Date(ms));
}

function renderEvent(event) {
  const list = $("rp-event");
  list.replaceChildren();
  const rows = [
    ["name", event.name],
    ["version", String(event.version)],
    ["natural time", event.timestamp ? timeElement(event.timestamp) : "time-neutral"],
    ["recorded", timeElement(event.recorded_at)],
    ["position", String(event.position)],
    ["id", event.id],
  ];
  for (const [term, text] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.append(text);
    if (term === "name") dd.className = "replay-event-name";
    list.append(dt, dd);
  }
  for (const [term, value] of [["payload", event.payload], ["metadata", event.metadata]]) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    const pre = document.createElement("pre");
    pre.textContent = JSON.stringify(value, null, 2);
    dd.append(pre);
    list.append(dt, dd);
  }
}

function renderChanges(diff) {
  const list = $("rp-changes");
  list.replaceChildren();
  if (!diff.length) {
    const item = document.createElement("li");
    item.className = "muted";
    item.textContent = "Nothing: the state is the same as before this event.";
    list.append(item);
    return;
  }
  for (const change of diff.slice(0, 200)) {
    const item = document.createElement("li");
    item.className = `diff-${change.op}`;
    const where = change.path.length ? change.path.join(".") : "(the whole state)";
    if (change.op === "added") item.textContent = `+ ${where} = ${short(change.after)}`;
    else if (change.op === "removed") item.textContent = `− ${where} (was ${short(change.before)})`;
    else item.textContent = `~ ${where}: ${short(change.before)} → ${short(change.after)}`;
    list.append(item);
  }
  if (diff.length > 200) {
    const item = document.createElement("li");
    item.className = "muted";
    item.textContent = `and ${diff.length - 200} more`;
    list.append(item);
  }
}

function drawMarkers(snapshots) {
  markersDrawn = true;
  const ticks = $("rp-ticks");
  ticks.replaceChildren();
  const span = Math.max(1, head - 1);
  for (const marker of snapshots.markers) {
    const tick = document.createElement("span");
    tick.className = "replay-tick";
    tick.style.setProperty("--pos", String((marker.version - 1) / span));
    tick.title = marker.count > 1 ? `${marker.count} snapshots from version ${marker.version}` : `snapshot at version ${marker.version}`;
    ticks.append(tick);
  }
  // Labels on up to 6 markers, evenly picked, so they do not overlap.
  const every = Math.max(1, Math.ceil(snapshots.markers.length / 6));
  snapshots.markers.forEach((marker, index) => {
    if (index % every) return;
    const label = document.createElement("span");
    label.className = "replay-tick-label";
    label.style.setProperty("--pos", String((marker.version - 1) / span));
    label.textContent = marker.count > 1 ? `${marker.count}× v${marker.version}+` : `v${marker.version}${marker.label && marker.label !== "policy" ? ` ${marker.label}` : ""}`;
    ticks.append(label);
  });
  const note = $("rp-marker-note");
  const key = '<span class="replay-tick-key" aria-hidden="true"></span> ';
  if (!snapshots.total) note.innerHTML = `${key}no snapshots yet: every state is folded from version 1`;
  else if (snapshots.aggregated) note.innerHTML = `${key}${snapshots.note}`;
  else note.innerHTML = `${key}snapshot (${snapshots.total})`;
}

function setupTime(time) {
  if (timeRange || !time.first || !time.last) return;
  timeRange = time;
  timeSlider.min = "1";
  timeSlider.max = String(head);
  timeSlider.step = "1";
  timeSlider.disabled = head < 2;
  $("rp-time-rule").textContent = time.rule;
  drawAxis();
}

function drawAxis() {
  const axis = $("rp-axis");
  axis.replaceChildren();
  $("rp-time-name").textContent = basis === "recorded" ? "Known at (recorded time)" : "As of (natural time)";
  if (!timeRange?.axis) return;
  const span = Math.max(1, head - 1);
  const stops = timeRange.axis.length > 3 && axis.clientWidth < 500 ? timeRange.axis.filter((_, i, all) => i === 0 || i === all.length - 1 || i === Math.floor(all.length / 2)) : timeRange.axis;
  const isos = stops.map((stop) => isoUtc(new Date(basis === "recorded" ? stop.recorded : stop.natural)));
  // Dates when they differ; times of day when every stop falls on one day.
  const oneDay = new Set(isos.map((iso) => iso.slice(0, 10))).size === 1;
  // Stops within one second (a batch load) keep their milliseconds apart.
  const oneSecond = new Set(isos.map((iso) => iso.slice(0, 19))).size === 1;
  const stamp = (stop) => (basis === "recorded" ? stop.recorded : stop.natural);
  for (const [index, stop] of stops.entries()) {
    const label = document.createElement("span");
    label.style.setProperty("--pos", String((stop.version - 1) / span));
    const iso = isos[index];
    if (oneSecond) label.textContent = new Date(stamp(stop)).toISOString().slice(11, 23);
    else label.textContent = oneDay ? iso.slice(11, 19) : iso.slice(0, 10);
    label.title = `version ${stop.version}: ${formatTime(Date.parse(iso))}`;
    axis.append(label);
  }
}

// ---- wiring ------------------------------------------------------------------------------

slider.addEventListener("input", () => go(Number(slider.value)));
$("rp-first").addEventListener("click", () => go(1));
$("rp-prev").addEventListener("click", () => step(-1));
$("rp-next").addEventListener("click", () => step(1));
$("rp-last").addEventListener("click", () => go(head));
playButton.addEventListener("click", togglePlay);
$("rp-speed").addEventListener("change", () => {
  if (playing) {
    pause();
    play();
  }
});

let timeTimer = null;
timeSlider.addEventListener("input", () => {
  const stop = Number(timeSlider.value);
  $("rp-time-label").textContent = `event ${stop}…`;
  clearTimeout(timeTimer);
  timeTimer = setTimeout(() => goToTime({ at_event: String(stop) }), 150);
});

function describeTime(body) {
  const when = formatTime(Date.parse(body.at.at));
  const reached = body.at.version;
  if (body.at.basis === "recorded") {
    return reached
      ? `As known at ${when} (recorded time), the store held versions 1 to ${reached}.`
      : `The store knew nothing of this stream at ${when}; showing version 1.`;
  }
  return reached
    ? `As of ${when} (natural time), the stream had reached version ${reached}.`
    : `Nothing had happened by ${when}; showing version 1.`;
}

async function goToTime(params) {
  pause();
  let body;
  try {
    body = await load({ ...params, basis });
  } catch {
    return;
  }
  await go(body.version);
  $("rp-time-label").textContent = formatTime(Date.parse(body.at.at));
  status.dataset.version = String(body.version);
  status.textContent = describeTime(body);
  showDefinedState(body).catch(() => {}); // the panel is extra: the stop is shown already
}

const canonical = (value) =>
  JSON.stringify(value, (key, v) =>
    v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v,
  );

// The slider shows a version prefix; the state as of T by its definition folds every event
// dated by T (skipping later-dated ones in between). Shown when the two differ.
async function showDefinedState(body) {
  const panel = $("rp-asof");
  panel.hidden = true;
  const query = new URLSearchParams({ stream: streamId, at: body.at.at, basis: body.at.basis });
  const response = await fetch(`/data/replay/state-at?${query}`, { headers: { Accept: "application/json" } });
  if (!response.ok) return;
  const defined = await response.json();
  const shown = steps.get(body.version);
  if (cursor !== body.version || !shown || canonical(shown.state) === canonical(defined.state)) return;
  body = { ...body, at: { ...body.at, ...defined } };
  const when = formatTime(Date.parse(body.at.at));
  $("rp-asof-title").textContent = `The state as of ${when}`;
  $("rp-asof-note").textContent =
    `Folding every event dated by ${when} in version order (${body.at.events_applied} events, up to version ` +
    `${body.at.last_version}) gives another state than version ${body.version}: a later version holds an ` +
    "event dated earlier, such as a late correction. This is what GET …/state?at= answers.";
  $("rp-asof-state").replaceChildren(jsonViewer(body.at.state, "State"));
  panel.hidden = false;
}

for (const radio of document.querySelectorAll("#rp-basis input[name=basis]")) {
  radio.addEventListener("change", () => {
    if (!radio.checked) return;
    basis = radio.value;
    drawAxis();
    render(cursor);
    if (status.dataset.version) {
      // Ask again for the same moment on the other axis.
      const moment = $("rp-time-label").textContent;
      if (moment) goToTime({ at_event: String(cursor) });
    }
  });
}

$("rp-goto").addEventListener("submit", (event) => {
  event.preventDefault();
  const value = Number($("rp-goto-version").value);
  if (!Number.isFinite(value) || value === 0) return;
  pause();
  go(value, { explicit: true });
});

document.addEventListener("keydown", (event) => {
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const target = event.target;
  const tag = target.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT" || (tag === "INPUT" && target.type !== "range")) return;
  if (target.tagName === "SUMMARY") return;
  const onSlider = target === slider || target === timeSlider;
  if (event.key === " " && tag !== "BUTTON") {
    event.preventDefault();
    togglePlay();
  } else if (onSlider) {
    if (["ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"].includes(event.key)) pause();
    // the range input moves itself; its input event moves the cursor
  } else if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
    event.preventDefault();
    pause();
    step(event.key === "ArrowRight" ? 1 : -1);
  } else if (event.key === "Home" || event.key === "End") {
    event.preventDefault();
    pause();
    go(event.key === "Home" ? 1 : head);
  }
});

const at = root.dataset.at;
if (at && !Number.isNaN(Date.parse(at))) goToTime({ at: new Date(Date.parse(at)).toISOString() });
else go(cursor, { explicit: Boolean(root.dataset.version) });
