// The timeline of one stream: newest first, new events arriving live (highlighted), filters by
// name, natural-time window and version, a payload and metadata viewer on each event.
import { jsonViewer } from "./jsonview.js";
import { subscribeStream } from "./live.js";
import { timeElement } from "./time.js";

const root = document.getElementById("timeline");
const streamId = root.dataset.stream;
const list = document.getElementById("events");
const status = document.getElementById("timeline-status");
const older = document.getElementById("older");
const form = document.getElementById("timeline-form");
const number = new Intl.NumberFormat();
const params = new URLSearchParams(location.search);
const filters = {
  name: params.get("name") || "",
  since: params.get("since") || "",
  until: params.get("until") || "",
  version: params.get("version") || "",
  time: params.get("time") === "recorded" ? "recorded" : "",
};
const newButton = document.getElementById("new-events");
const waiting = []; // live events held back while the reader is scrolled down
let nextCursor = null;
let head = null;
let liveCount = 0;
const names = new Set();
const shown = new Set(); // event ids on the page: a live event never shows twice

async function fetchData(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error(data?.error?.message || `The server answered ${response.status}.`);
    error.status = response.status;
    throw error;
  }
  return data;
}

function eventItem(event, fresh) {
  const li = document.createElement("li");
  li.className = "event" + (fresh ? " arrived" : "");
  li.dataset.id = event.id;
  li.dataset.position = event.position;
  if (event.version != null) li.dataset.version = event.version;
  const line = document.createElement("div");
  line.className = "event-line event-cols";
  const position = document.createElement("span");
  position.className = "col-pos";
  position.title = "Position in the global feed";
  position.textContent = `#${event.position}`;
  const what = document.createElement("span");
  const name = document.createElement("strong");
  name.className = "event-name";
  name.textContent = event.name;
  const times = document.createElement("span");
  times.className = "muted small col-time";
  times.append(" ");
  if (event.timestamp) times.append("happened ", timeElement(event.timestamp));
  else times.append("time-neutral");
  times.append(" · recorded ", timeElement(event.recorded_at));
  what.append(name, times);
  if (fresh) {
    const badge = document.createElement("span");
    badge.className = "badge ok new-badge";
    badge.textContent = "new";
    what.append(" ", badge);
  }
  const version = document.createElement("span");
  version.className = "badge version";
  version.textContent = event.version == null ? "—" : `v${event.version}`;
  const id = document.createElement("code");
  id.className = "col-id";
  id.title = event.id;
  id.textContent = event.id.slice(0, 8);
  line.append(position, what, version, id);
  const body = document.createElement("div");
  body.className = "event-body";
  body.append(jsonViewer(event.payload, "Payload"), jsonViewer(event.metadata, "Metadata"));
  if (event.version != null) {
    const state = document.createElement("a");
    state.className = "state-link small";
    state.href = `/replay/?stream=${encodeURIComponent(streamId)}&version=${event.version}`;
    state.textContent = "State here";
    state.setAttribute("aria-label", `State of the stream at version ${event.version}`);
    li.append(line, body, state);
  } else li.append(line, body);
  return li;
}

function noteName(name) {
  if (names.has(name)) return;
  names.add(name);
  const option = document.createElement("option");
  option.value = name;
  document.getElementById("event-names").append(option);
}

function showFacts() {
  const facts = document.getElementById("stream-facts");
  facts.replaceChildren();
  const add = (text, className = "badge") => {
    const span = document.createElement("span");
    span.className = className;
    span.textContent = text;
    facts.append(span, " ");
  };
  // Replay and snapshots exist for versioned streams only: no dead-end links.
  document.getElementById("stream-links").hidden = head.kind === "neutral";
  if (head.category) add(head.category);
  add(head.kind === "neutral" ? "version-neutral" : "versioned");
  if (head.version != null) add(`version ${number.format(head.version)}`);
  add(`${number.format(head.event_count)} events`);
  const last = document.createElement("span");
  last.className = "muted small";
  last.append("last recorded ", timeElement(head.last_recorded_at));
  facts.append(last);
}

function showEmpty() {
  if (list.querySelector("li.event")) return;
  const filtered = filters.name || filters.since || filters.until || filters.version;
  list.innerHTML = "";
  const li = document.createElement("li");
  li.className = "empty";
  li.textContent = filtered
    ? "No event matches these filters. Clear them to see every event."
    : "This stream has no events yet.";
  list.append(li);
}

async function load(cursor = null) {
  const query = new URLSearchParams({ stream: streamId });
  for (const [key, value] of Object.entries(filters)) if (value) query.set(key, value);
  if (cursor) query.set("cursor", cursor);
  older.disabled = true;
  const data = await fetchData(`${root.dataset.url}?${query}`);
  head = data.stream;
  showFacts();
  if (!cursor) list.innerHTML = "";
  for (const event of data.events) {
    if (shown.has(event.id)) continue;
    shown.add(event.id);
    noteName(event.name);
    list.append(eventItem(event, false));
  }
  nextCursor = data.next_cursor;
  older.hidden = !nextCursor;
  older.disabled = false;
  showEmpty();
  return data;
}

function matches(event) {
  return !filters.name || event.name === filters.name;
}

function goLive() {
  if (filters.version || filters.since || filters.until) {
    status.textContent = "Live updates are off while a version or a time window is set.";
    return;
  }
  const start =
    head.kind === "neutral" ? { after: head.last_position } : { afterVersion: head.version };
  subscribeStream(streamId, {
    ...start,
    onEvent(event) {
      head.event_count += 1;
      if (event.version != null) head.version = event.version;
      head.last_recorded_at = event.recorded_at;
      showFacts();
      noteName(event.name);
      if (!matches(event) || shown.has(event.id)) return;
      shown.add(event.id);
      liveCount += 1;
      // A reader scrolled down keeps their place: the new events wait behind a badge.
      if (window.scrollY > 120 || waiting.length) {
        waiting.push(event);
        newButton.textContent = `${waiting.length} new event${waiting.length === 1 ? "" : "s"} — show`;
        newButton.hidden = false;
        return;
      }
      list.querySelector("li.empty")?.remove();
      list.prepend(eventItem(event, true));
      status.textContent = `${liveCount} new event${liveCount === 1 ? "" : "s"} arrived live.`;
    },
    onCaughtUp() {
      if (!liveCount) status.textContent = "Live: new events appear at the top.";
    },
    onError(message) {
      status.textContent = message;
    },
  });
}

form.addEventListener("submit", (event) => {
  // Plain GET without scripts; with them the same URL, so a reload keeps the filters.
  for (const input of form.querySelectorAll("input[name]")) if (!input.value) input.disabled = true;
  const time = form.querySelector("select[name=time]");
  if (time.value === "natural") time.disabled = true;
});

newButton.addEventListener("click", () => {
  list.querySelector("li.empty")?.remove();
  for (const event of waiting.splice(0)) list.prepend(eventItem(event, true));
  newButton.hidden = true;
  status.textContent = `${liveCount} new event${liveCount === 1 ? "" : "s"} arrived live.`;
  list.scrollIntoView({ block: "start" });
});

older.addEventListener("click", () => {
  load(nextCursor).catch((error) => {
    status.textContent = `Older events could not load: ${error.message}`;
  });
});

load()
  .then(goLive)
  .catch((error) => {
    list.innerHTML = "";
    const li = document.createElement("li");
    li.className = error.status === 404 ? "empty" : "error";
    li.textContent =
      error.status === 404
        ? `No stream “${streamId}” has events. Check the id, or find it in the explorer.`
        : `The events could not load: ${error.message}`;
    list.append(li);
    document.getElementById("stream-facts").textContent = "";
  });
