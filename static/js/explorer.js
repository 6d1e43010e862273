// The stream explorer: prefix search, category filter, sort, cursor pagination. The query
// lives in the URL, so a search can be shared and the back button works.
import { timeElement } from "./time.js";

const form = document.getElementById("explorer-form");
const body = document.getElementById("streams-body");
const status = document.getElementById("explorer-status");
const nextButton = document.getElementById("next-page");
const firstButton = document.getElementById("first-page");
const prevButton = document.getElementById("prev-page");
const cursors = []; // the cursor of each page before this one (null: the first)
let currentCursor = null;
const number = new Intl.NumberFormat();
let nextCursor = null;
let pageNumber = 1;
let request = 0;

async function fetchData(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Error(data?.error?.message || `The server answered ${response.status}.`);
  return data;
}

function query() {
  const params = new URLSearchParams();
  for (const name of ["prefix", "category", "sort"]) {
    const value = form.elements[name].value.trim();
    if (value && !(name === "sort" && value === "id")) params.set(name, value);
  }
  return params;
}

function message(text, kind) {
  body.innerHTML = "";
  const row = body.insertRow();
  const cell = row.insertCell();
  cell.colSpan = 6;
  cell.className = kind;
  cell.textContent = text;
}


function render(streams) {
  body.innerHTML = "";
  for (const head of streams) {
    const row = body.insertRow();
    const link = document.createElement("a");
    link.href = `/timeline/?stream=${encodeURIComponent(head.stream_id)}`;
    link.textContent = head.stream_id;
    link.className = "mono";
    row.insertCell().append(link);
    const category = row.insertCell();
    if (head.category) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = head.category;
      category.append(badge);
    } else category.innerHTML = '<span class="muted">—</span>';
    row.insertCell().textContent = head.kind === "neutral" ? "version-neutral" : "versioned";
    const version = row.insertCell();
    version.className = "num";
    version.dataset.label = "version";
    version.textContent = head.version == null ? "—" : number.format(head.version);
    const count = row.insertCell();
    count.className = "num";
    count.dataset.label = "events";
    count.textContent = number.format(head.event_count);
    const updated = row.insertCell();
    updated.dataset.label = "updated";
    updated.append(timeElement(head.last_recorded_at));
  }
}

async function load(cursor = null) {
  const mine = ++request;
  const params = query();
  if (cursor) params.set("cursor", cursor);
  status.textContent = "Searching…";
  body.setAttribute("aria-busy", "true");
  try {
    const data = await fetchData(`${form.dataset.url}?${params}`);
    if (mine !== request) return; // a newer search answered first
    nextCursor = data.next_cursor;
    if (!data.streams.length) {
      const filtered = params.has("prefix") || params.has("category");
      message(
        filtered
          ? "No stream matches. Try a shorter prefix or another category."
          : "No streams yet. Append an event through the API, or run manage.py flipbook_demo.",
        "empty",
      );
    } else render(data.streams);
    currentCursor = cursor;
    const order = data.sort === "updated" ? "most recently updated first" : "by stream id";
    const start = (pageNumber - 1) * 50;
    const end = start + data.streams.length;
    let of;
    if (data.total != null) of = `of ${data.approximate ? "about " : ""}${number.format(data.total)}`;
    else if (nextCursor) of = `of more than ${number.format(end)}`;
    else of = `of ${number.format(end)}`;
    status.textContent = data.streams.length
      ? `Page ${pageNumber}: streams ${number.format(start + 1)}–${number.format(end)} ${of}, ${order}.`
      : "";
  } catch (error) {
    if (mine !== request) return;
    nextCursor = null;
    message(`The streams could not load: ${error.message}`, "error");
    status.textContent = "";
  } finally {
    body.removeAttribute("aria-busy");
    nextButton.disabled = !nextCursor;
    firstButton.disabled = pageNumber === 1;
    prevButton.disabled = pageNumber === 1;
  }
}

function search() {
  pageNumber = 1;
  cursors.length = 0;
  const params = query().toString();
  history.replaceState(null, "", params ? `?${params}` : location.pathname);
  load();
}

let typing = null;
form.addEventListener("submit", (event) => {
  event.preventDefault();
  search();
});
form.elements.prefix.addEventListener("input", () => {
  clearTimeout(typing);
  typing = setTimeout(search, 250);
});
form.elements.category.addEventListener("change", search);
form.elements.sort.addEventListener("change", search);
nextButton.addEventListener("click", () => {
  if (!nextCursor) return;
  pageNumber += 1;
  cursors.push(currentCursor);
  load(nextCursor);
  document.getElementById("prefix").scrollIntoView({ block: "nearest" });
});
firstButton.addEventListener("click", search);
prevButton.addEventListener("click", () => {
  if (pageNumber === 1) return;
  pageNumber -= 1;
  load(cursors.pop() ?? null);
});

load();
