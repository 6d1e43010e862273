// The feed browser: the global feed filtered, paged by position both ways (the pages come
// from "after" positions; the ones passed through are kept, so Previous goes back), any event
// opened below the table, the filters and the page in the URL. Live: events committed after
// the search ran wait behind an "N new events" button, so the table never moves under a reader.
import { jsonViewer } from "./jsonview.js";
import { subscribeFeed } from "./live.js";
import { timeElement } from "./time.js";

const form = document.getElementById("feed-form");
const body = document.getElementById("feed-body");
const status = document.getElementById("feed-status");
const prev = document.getElementById("feed-prev");
const next = document.getElementById("feed-next");
const first = document.getElementById("feed-first");
const detail = document.getElementById("feed-event");
const newButton = document.getElementById("feed-new");
const FILTERS = ["category", "name", "id", "since", "until", "metadata"];

const params = new URLSearchParams(location.search);
const filters = Object.fromEntries(FILTERS.map((key) => [key, params.get(key) || ""]));
let after = Number(params.get("after")) || 0;
if (params.get("position")) after = Math.max(0, Number(params.get("position")) - 1);
const history_ = params.get("back") ? params.get("back").split(".").map(Number) : []; // earlier pages' "after"
let nextAfter = null;
let live = null; // the feed socket of the current filters
let highest = 0; // the highest position the table has shown
const waiting = []; // live events that match, not shown yet (position order)

function filterQuery() {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) query.set(key, value);
  return query;
}

function syncUrl() {
  const query = filterQuery();
  if (after) query.set("after", String(after));
  if (history_.length) query.set("back", history_.slice(-20).join("."));
  if (opened) query.set("open", String(opened));
  history.replaceState(null, "", `${location.pathname}${query.size ? `?${query}` : ""}`);
  for (const link of document.querySelectorAll("#export-jsonl, #export-csv")) {
    const url = new URL(link.href);
    const exportQuery = filterQuery();
    exportQuery.set("format", url.searchParams.get("format"));
    link.href = `${url.pathname}?${exportQuery}`;
  }
}

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Error(data?.error?.message || `The server answered ${response.status}.`);
  return data;
}

function cell(content, className, label) {
  const td = document.createElement("td");
  if (className) td.className = className;
  if (label) td.dataset.label = label;
  if (content instanceof Node) td.append(content);
  else td.textContent = content;
  return td;
}

function row(event) {
  const tr = document.createElement("tr");
  tr.dataset.position = event.position;
  const open = document.createElement("button");
  open.type = "button";
  open.className = "linkish";
  open.textContent = event.name;
  open.setAttribute("aria-label", `Open event ${event.name} at position ${event.position}`);
  open.addEventListener("click", () => show(event));
  const stream = document.createElement("a");
  stream.href = `/timeline/?stream=${encodeURIComponent(event.stream_id)}`;
  stream.className = "mono";
  stream.textContent = event.stream_id;
  const id = document.createElement("code");
  id.textContent = event.id.slice(0, 8);
  id.title = event.id;
  tr.append(
    cell(String(event.position), "num mono", "position"),
    cell(open),
    cell(stream, "wrap"),
    cell(event.version == null ? "—" : String(event.version), "num", "version"),
    cell(timeElement(event.timestamp || event.recorded_at)),
    cell(id, "", "id"),
  );
  return tr;
}

function show(event) {
  const facts = document.getElementById("feed-event-facts");
  facts.replaceChildren();
  const add = (term, value) => {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.append(value);
    facts.append(dt, dd);
  };
  const stream = document.createElement("a");
  stream.href = `/timeline/?stream=${encodeURIComponent(event.stream_id)}${event.version != null ? `&version=${event.version}` : ""}`;
  stream.textContent = event.stream_id;
  add("name", event.name);
  add("stream", stream);
  add("version", event.version == null ? "— (version-neutral)" : String(event.version));
  add("position", String(event.position));
  add("id", event.id);
  add("natural time", event.timestamp ? timeElement(event.timestamp) : "time-neutral");
  add("recorded", timeElement(event.recorded_at));
  document.getElementById("feed-event-body").replaceChildren(
    jsonViewer(event.payload, "Payload"),
    jsonViewer(event.metadata, "Metadata"),
  );
  document.getElementById("feed-event-title").textContent = `Event ${event.name} at position ${event.position}`;
  detail.hidden = false;
  detail.focus();
  opened = event.position;
  syncUrl();
}

let opened = Number(params.get("open")) || null; // the event shown below the table, by position

async function openFromUrl() {
  if (!opened) return;
  try {
    show(await getJson(`${form.dataset.eventUrl}?position=${opened}`));
  } catch (error) {
    status.textContent = `Event at position ${opened}: ${error.message}`;
  }
}

async function load() {
  const query = filterQuery();
  query.set("after", String(after));
  if (!live) query.set("head", "1"); // where live updates start: asked once per search
  body.innerHTML = '<tr><td colspan="6" class="loading">Loading events…</td></tr>';
  prev.disabled = next.disabled = first.disabled = true;
  syncUrl();
  let data;
  try {
    data = await getJson(`${form.dataset.url}?${query}`);
  } catch (error) {
    body.innerHTML = "";
    const tr = document.createElement("tr");
    tr.append(cell(`The search failed: ${error.message}`, "error"));
    tr.firstChild.colSpan = 6;
    body.append(tr);
    status.textContent = "";
    return;
  }
  body.replaceChildren(...data.events.map(row));
  if (data.events.length) highest = Math.max(highest, data.events[data.events.length - 1].position);
  showWaiting();
  if (!live) goLive(data.head);
  if (!data.events.length) {
    const tr = document.createElement("tr");
    tr.append(cell(data.more ? "No match in this stretch of the feed: try the next page." : "No event matches these filters.", "empty"));
    tr.firstChild.colSpan = 6;
    body.append(tr);
  }
  nextAfter = data.more ? data.next_after : null;
  next.disabled = nextAfter === null;
  prev.disabled = !history_.length;
  first.disabled = after === 0;
  const span = data.events.length
    ? `positions ${data.events[0].position}–${data.events[data.events.length - 1].position}`
    : `after position ${after}`;
  status.textContent = `${data.events.length} event${data.events.length === 1 ? "" : "s"}, ${span}${data.more ? "; more follow" : "; the end of the feed"}.`;
}

// The filters of the query, as the server checks them (streams/search.py), for live events.
function matches(event) {
  if (filters.name && event.name !== filters.name) return false;
  if (filters.id && !event.id.startsWith(filters.id.toLowerCase())) return false;
  if (filters.since || filters.until) {
    const moment = Date.parse(event.timestamp || event.recorded_at);
    if (filters.since && moment < Date.parse(filters.since)) return false;
    if (filters.until && moment > Date.parse(filters.until)) return false;
  }
  if (filters.metadata) {
    const at = filters.metadata.indexOf("=");
    const key = (at < 0 ? filters.metadata : filters.metadata.slice(0, at)).trim();
    const metadata = event.metadata || {};
    if (!Object.hasOwn(metadata, key)) return false;
    if (at >= 0) {
      const value = metadata[key];
      const wanted = filters.metadata.slice(at + 1);
      if ((typeof value === "string" ? value : JSON.stringify(value)) !== wanted) return false;
    }
  }
  return true;
}

function showWaiting() {
  while (waiting.length && waiting[0].position <= highest) waiting.shift();
  newButton.hidden = !waiting.length;
  const n = waiting.length;
  newButton.textContent = `${n} new event${n === 1 ? "" : "s"} — ${nextAfter === null ? "show" : "go to them"}`;
}

function goLive(head) {
  const path = filters.category ? `/ws/categories/${encodeURIComponent(filters.category)}` : "/ws/events";
  live = subscribeFeed(path, {
    after: head ?? highest,
    onEvent(event) {
      if (event.position <= highest || !matches(event)) return;
      waiting.push(event);
      showWaiting();
    },
    onError(message) {
      status.textContent = message;
    },
  });
}

newButton.addEventListener("click", () => {
  if (!waiting.length) return;
  if (nextAfter === null && !body.querySelector("td.loading")) {
    // The last page is showing: the new events go below it, the page stays where it is.
    body.querySelector("td.empty")?.parentElement.remove();
    for (const event of waiting.splice(0)) {
      body.append(row(event));
      highest = event.position;
    }
    showWaiting();
    status.textContent = "New events added below.";
    return;
  }
  history_.push(after);
  after = waiting[0].position - 1;
  load();
});

form.addEventListener("submit", (submit) => {
  submit.preventDefault();
  const data = new FormData(form);
  for (const key of FILTERS) filters[key] = String(data.get(key) || "").trim();
  const position = Number(data.get("position"));
  after = position > 0 ? position - 1 : 0;
  history_.length = 0;
  opened = null;
  detail.hidden = true;
  form.elements.position.value = "";
  live?.close();
  live = null;
  waiting.length = 0;
  highest = 0;
  load();
});
next.addEventListener("click", () => {
  history_.push(after);
  after = nextAfter;
  load();
});
prev.addEventListener("click", () => {
  after = history_.pop() ?? 0;
  load();
});
first.addEventListener("click", () => {
  history_.length = 0;
  after = 0;
  load();
});
load().then(openFromUrl);
