// The dashboard: totals, an events-per-minute bar chart (inline SVG) and the live all-feed.
import { subscribeFeed } from "./live.js";
import { timeElement } from "./time.js";

const root = document.getElementById("dashboard");
const FEED_MAX = 30;
const SVG = "http://www.w3.org/2000/svg";
let series = [];

async function fetchData(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error?.message || `The server answered ${response.status}.`);
  return body;
}

const number = new Intl.NumberFormat();
// The chart's minutes in UTC, as every time in the console by default.
const clock = (iso) => `${new Date(iso).toISOString().slice(11, 16)}Z`;

function svg(name, attributes = {}, text = null) {
  const el = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, value);
  if (text != null) el.textContent = text;
  return el;
}

function niceMax(value) {
  if (value <= 5) return 5;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function drawChart() {
  const box = document.getElementById("chart");
  const width = 640, height = 220, left = 44, bottom = 28, top = 10, right = 8;
  const plotW = width - left - right, plotH = height - top - bottom;
  const max = niceMax(Math.max(0, ...series.map((p) => p.count)));
  const total = series.reduce((sum, p) => sum + p.count, 0);
  const peak = series.reduce((best, p) => (p.count > (best?.count ?? -1) ? p : best), null);
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "chart-title chart-desc",
    preserveAspectRatio: "none",
  });
  const description = total
    ? `${number.format(total)} events in the last ${series.length} minutes; the busiest minute, ${clock(peak.minute)}, had ${number.format(peak.count)}.`
    : `No events in the last ${series.length} minutes.`;
  chart.append(svg("desc", { id: "chart-desc" }, description));
  for (const fraction of [0, 0.5, 1]) {
    const y = top + plotH - fraction * plotH;
    chart.append(svg("line", { x1: left, x2: width - right, y1: y, y2: y, class: "grid-line" }));
    chart.append(svg("text", { x: left - 6, y: y + 4, class: "axis", "text-anchor": "end" },
      number.format(max * fraction)));
  }
  const slot = plotW / Math.max(series.length, 1);
  series.forEach((point, i) => {
    const h = (point.count / max) * plotH;
    const bar = svg("rect", {
      x: left + i * slot + 1, y: top + plotH - h, width: Math.max(slot - 2, 1), height: h,
      class: "bar",
    });
    bar.append(svg("title", {}, `${clock(point.minute)}: ${number.format(point.count)} events`));
    chart.append(bar);
    if (i % 15 === 0 || i === series.length - 1) {
      chart.append(svg("text", { x: left + i * slot + slot / 2, y: height - 8, class: "axis",
        "text-anchor": i === series.length - 1 ? "end" : "middle" }, clock(point.minute)));
    }
  });
  box.replaceChildren(chart);
  // The same figures as text, for screen readers and anyone who prefers numbers.
  document.getElementById("chart-summary").textContent = description;
}

function showTotals(totals) {
  for (const key of ["streams", "events", "categories"]) {
    const el = document.getElementById(`total-${key}`);
    const estimated = totals.approximate && key !== "categories";
    el.textContent = (estimated ? "≈ " : "") + number.format(totals[key]);
    el.title = estimated ? "An estimate: counting a store this big exactly takes too long." : "";
  }
}

async function refresh() {
  const data = await fetchData(root.dataset.url);
  showTotals(data.totals);
  series = data.per_minute;
  drawChart();
  return data;
}

function countLive(event) {
  // Count a live event into its minute, so the chart moves between refreshes.
  const minute = new Date(event.recorded_at);
  minute.setSeconds(0, 0);
  const last = series[series.length - 1];
  if (!last) return;
  const lastMinute = new Date(last.minute).getTime();
  if (minute.getTime() === lastMinute) last.count += 1;
  else if (minute.getTime() > lastMinute) {
    series.push({ minute: minute.toISOString(), count: 1 });
    series = series.slice(-Number(root.dataset.window));
  }
  drawChart();
}

function feedItem(event, fresh) {
  const li = document.createElement("li");
  if (fresh) li.className = "arrived";
  const link = document.createElement("a");
  link.href = `/timeline/?stream=${encodeURIComponent(event.stream_id)}`;
  link.textContent = event.stream_id;
  const name = document.createElement("strong");
  name.textContent = event.name;
  const meta = document.createElement("span");
  meta.className = "muted small";
  const parts = [`#${event.position}`];
  if (event.version != null) parts.unshift(`v${event.version}`);
  meta.append(timeElement(event.recorded_at), ` · ${parts.join(" · ")}`);
  li.append(name, " on ", link, meta);
  return li;
}

function startFeed(lastPosition) {
  const feed = document.getElementById("feed");
  let caughtUp = false;
  const showEmpty = () => {
    if (!feed.querySelector("li:not(.empty)")) {
      feed.innerHTML = '<li class="empty">No events yet. New ones appear here as they are committed.</li>';
    }
  };
  subscribeFeed("/ws/events", {
    after: Math.max(0, lastPosition - FEED_MAX),
    onEvent(event) {
      feed.querySelector(".empty, .loading")?.remove();
      feed.prepend(feedItem(event, caughtUp));
      while (feed.children.length > FEED_MAX) feed.lastElementChild.remove();
      if (caughtUp) {
        countLive(event);
        const totals = document.getElementById("total-events");
        const prefix = totals.textContent.startsWith("≈") ? "≈ " : "";
        totals.textContent = prefix + number.format(Number(totals.textContent.replace(/\D/g, "")) + 1);
      }
    },
    onCaughtUp() {
      caughtUp = true;
      feed.querySelector(".loading")?.remove();
      showEmpty();
    },
    onError(message) {
      feed.querySelector(".loading")?.remove();
      const li = document.createElement("li");
      li.className = "error";
      li.textContent = message;
      feed.prepend(li);
    },
  });
}

refresh()
  .then((data) => startFeed(data.totals.last_position))
  .catch((error) => {
    const box = document.getElementById("dashboard-error");
    box.hidden = false;
    box.textContent = `The dashboard could not load: ${error.message} Reload the page to try again.`;
    document.getElementById("chart").innerHTML = '<p class="error">No chart: the data did not load.</p>';
    document.getElementById("feed").innerHTML = '<li class="error">No live feed: the data did not load.</li>';
    for (const key of ["streams", "events", "categories"]) document.getElementById(`total-${key}`).textContent = "—";
  });
// Re-read the totals and the chart each minute (the feed keeps them moving in between).
setInterval(() => refresh().catch(() => {}), 60_000);
