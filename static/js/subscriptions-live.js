// The subscriptions page, live: the list is fetched again every few seconds and swapped in,
// unless the user is in the middle of something (a dialog open, focus in a form).
import "./confirm.js";

const live = document.getElementById("subs-live");
const updated = document.getElementById("subs-updated");
const POLL_MS = 4000;

function busy() {
  if (document.getElementById("confirm-dialog")?.open) return true;
  const focused = document.activeElement;
  return Boolean(focused && live.contains(focused) && focused.matches("input, select, textarea"));
}

async function refresh() {
  if (document.visibilityState !== "visible" || busy()) return;
  try {
    const response = await fetch(live.dataset.url, { headers: { Accept: "text/html" } });
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    const html = await response.text();
    if (busy()) return;
    const focusedId = document.activeElement?.id;
    const template = document.createElement("template");
    template.innerHTML = html;
    live.replaceChildren(template.content);
    if (focusedId) document.getElementById(focusedId)?.focus();
    updated.textContent = `Updated ${new Date().toISOString().slice(11, 19)} UTC.`;
    live.dataset.refreshed = String(Number(live.dataset.refreshed || 0) + 1);
  } catch (error) {
    updated.textContent = `Not updated: ${error.message}.`;
  }
}

if (live) {
  setInterval(refresh, POLL_MS);
  document.addEventListener("visibilitychange", refresh);
}
