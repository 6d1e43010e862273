// One timestamp format everywhere: ISO 8601 in UTC (the default), local time or relative age,
// as the user picks (remembered in this browser's localStorage, key "flipbook-time"). Any
// <time data-ts datetime="…"> on a page, now or added later, is written in that format, with
// the other two in its tooltip.
const KEY = "flipbook-time";
export const MODES = { utc: "UTC", local: "Local", relative: "Relative" };

export function timeMode() {
  const saved = localStorage.getItem(KEY);
  return saved in MODES ? saved : "utc";
}

const pad = (n) => String(n).padStart(2, "0");

export function isoUtc(date) {
  return date.toISOString().replace(/\.\d+Z$/, "Z");
}

export function localText(date) {
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

export function relative(date, now = Date.now()) {
  const seconds = Math.round((date.getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  const units = [
    [60, "second", 1],
    [3600, "minute", 60],
    [86400, "hour", 3600],
    [86400 * 30, "day", 86400],
    [86400 * 365, "month", 86400 * 30],
    [Infinity, "year", 86400 * 365],
  ];
  const [, unit, size] = units.find(([limit]) => abs < limit);
  return new Intl.RelativeTimeFormat("en", { numeric: "auto" }).format(Math.round(seconds / size), unit);
}

export function formatTime(iso, mode = timeMode()) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  if (mode === "local") return localText(date);
  if (mode === "relative") return relative(date);
  return isoUtc(date);
}

function render(el) {
  const iso = el.getAttribute("datetime");
  if (!iso) return;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return;
  el.textContent = formatTime(iso);
  el.title = `${isoUtc(date)} · local ${localText(date)} · ${relative(date)}`;
}

/** A <time> element for an ISO date-time, written in the user's format. */
export function timeElement(iso) {
  const el = document.createElement("time");
  el.dataset.ts = "";
  el.setAttribute("datetime", iso);
  render(el);
  return el;
}

export function renderAll(root = document) {
  for (const el of root.querySelectorAll("time[data-ts]")) render(el);
}

function setMode(mode) {
  localStorage.setItem(KEY, mode);
  renderAll();
  const select = document.getElementById("time-mode");
  if (select) select.value = mode;
}

function start() {
  renderAll();
  const select = document.getElementById("time-mode");
  if (select) {
    select.value = timeMode();
    select.addEventListener("change", () => setMode(select.value));
  }
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (node.nodeType !== 1) continue;
        if (node.matches("time[data-ts]")) render(node);
        else renderAll(node);
      }
    }
  }).observe(document.body, { childList: true, subtree: true });
  // Relative ages move on.
  setInterval(() => {
    if (timeMode() === "relative") renderAll();
  }, 30000);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
