// The health strip under the top bar, and the dashboard's health section when the page has
// one: both drawn from /data/health, polled every few seconds while the tab is visible.
// Polling, not the bus: a stall is the absence of events, so nothing would be pushed.
const strip = document.getElementById("health-strip");
const POLL_MS = 5000;
const number = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

function el(name, attributes = {}, text = null) {
  const node = document.createElement(name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text != null) node.textContent = text;
  return node;
}

function headline(health) {
  const first = health.problems.find((p) => p.level === "bad") || health.problems[0];
  if (!first) {
    const subs = health.subscriptions.length;
    return { text: `Healthy · ${number.format(health.events_per_second ?? 0)} events/s · ${subs} subscription${subs === 1 ? "" : "s"}`, href: "/subscriptions/" };
  }
  const more = health.problems.length - 1;
  return { text: first.text + (more > 0 ? ` (+${more} more)` : ""), href: first.href };
}

function drawStrip(health) {
  const link = document.getElementById("health-link");
  const { text, href } = headline(health);
  strip.dataset.state = health.status;
  link.href = href;
  document.getElementById("health-text").textContent = text;
  link.title = `Checked ${health.checked_at}`;
}

function drawSection(health) {
  const section = document.getElementById("health-section");
  if (!section) return;
  const state = (part) => `${part.kind}: ${part.state}`;
  document.getElementById("health-backend").textContent = state(health.backend);
  document.getElementById("health-bus").textContent = state(health.bus);
  document.getElementById("health-rate").textContent =
    health.events_per_second == null ? "unknown" : number.format(health.events_per_second);
  document.getElementById("health-push").textContent = health.push_last_delivery || "none yet";
  const problems = document.getElementById("health-problems");
  problems.replaceChildren(...health.problems.map((p) => {
    const item = el("li");
    item.append(el("span", { class: `badge ${p.level}` }, p.level === "bad" ? "problem" : "attention"), " ");
    item.append(el("a", { href: p.href }, p.text));
    return item;
  }));
  const body = document.getElementById("health-subs");
  if (!health.subscriptions.length) {
    const row = el("tr");
    row.append(el("td", { colspan: "4", class: "muted" }, "No subscriptions."));
    body.replaceChildren(row);
    return;
  }
  body.replaceChildren(...health.subscriptions.map((s) => {
    const row = el("tr", { "data-status": s.status });
    const name = el("th", { scope: "row" });
    name.append(el("a", { href: s.href }, s.name));
    const level = { stalled: "bad", behind: "warn", paused: "warn", live: "ok" }[s.status] || "";
    const status = el("td");
    status.append(el("span", { class: `badge ${level}` }, s.status));
    row.append(name, status, el("td", { class: "num" }, `${s.lag}${s.lag_capped ? "+" : ""}`),
      el("td", { class: "num" }, String(s.parked)));
    return row;
  }));
}

async function poll() {
  try {
    const response = await fetch(strip.dataset.url, { headers: { Accept: "application/json" } });
    if (response.status === 401) {
      strip.dataset.state = "bad";
      document.getElementById("health-text").textContent = "Logged out: log in again.";
      return;
    }
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    const health = await response.json();
    drawStrip(health);
    drawSection(health);
  } catch (error) {
    strip.dataset.state = "bad";
    document.getElementById("health-text").textContent = `Health unknown: ${error.message}`;
  }
}

let timer = null;
function schedule() {
  clearInterval(timer);
  if (document.visibilityState === "visible") timer = setInterval(poll, POLL_MS);
}
if (strip) {
  poll();
  schedule();
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") poll();
    schedule();
  });
}
