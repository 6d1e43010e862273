// The stream explorer: prefix search, category filter, sort, cursor pagination. The query
// lives in the URL, so a search can be shared and the back button works.
const form = document.getElementById("explorer-form");
const body = document.getElementById("streams-body");
const status = document.getElementById("explorer-status");
const nextButton = document.getElementById("next-page");
const firstButton = document.getElementById("first-page");
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

function when(iso) {
  const date = new Date(iso);
  return date.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
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
    version.textContent = head.version == null ? "—" : number.format(head.version);
    const count = row.insertCell();
    count.className = "num";
    count.textContent = number.format(head.event_count);
    const time = document.createElement("time");
    time.dateTime = head.last_recorded_at;
    time.textContent = when(head.last_recorded_at);
    row.insertCell().append(time);
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
    const order = data.sort === "updated" ? "most recently updated first" : "by stream id";
    status.textContent = `Page ${pageNumber}: ${data.streams.length} stream${data.streams.length === 1 ? "" : "s"}, ${order}${nextCursor ? "; more on the next page" : ""}.`;
  } catch (error) {
    if (mine !== request) return;
    nextCursor = null;
    message(`The streams could not load: ${error.message}`, "error");
    status.textContent = "";
  } finally {
    body.removeAttribute("aria-busy");
    nextButton.disabled = !nextCursor;
    firstButton.disabled = pageNumber === 1;
  }
}

function search() {
  pageNumber = 1;
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
  load(nextCursor);
  document.getElementById("prefix").scrollIntoView({ block: "nearest" });
});
firstButton.addEventListener("click", search);

load();
