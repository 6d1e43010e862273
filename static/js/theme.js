// Light or dark: the system's choice until the user picks one, remembered in localStorage.
// Also the phone menu toggle and the offline banner (shown while the browser is offline or a
// live socket is; its Retry reconnects at once).
const root = document.documentElement;
const saved = localStorage.getItem("flipbook-theme");
if (saved) root.dataset.theme = saved;

function setOffline(offline, text) {
  const banner = document.getElementById("offline-banner");
  if (!banner) return;
  banner.hidden = !offline;
  if (text) document.getElementById("offline-text").textContent = text;
}
window.flipbookOffline = setOffline;

function start() {
  const button = document.getElementById("theme-toggle");
  button?.addEventListener("click", () => {
    const dark = root.dataset.theme
      ? root.dataset.theme === "dark"
      : matchMedia("(prefers-color-scheme: dark)").matches;
    root.dataset.theme = dark ? "light" : "dark";
    localStorage.setItem("flipbook-theme", root.dataset.theme);
  });
  const menu = document.getElementById("menu-toggle");
  menu?.addEventListener("click", () => {
    const open = menu.getAttribute("aria-expanded") !== "true";
    menu.setAttribute("aria-expanded", String(open));
    document.getElementById("mainnav").classList.toggle("open", open);
  });
  addEventListener("offline", () => setOffline(true, "your browser is offline; live updates are paused."));
  addEventListener("online", () => {
    window.flipbookLive?.restore?.();
    setOffline(false);
  });
  document.getElementById("offline-retry")?.addEventListener("click", async () => {
    window.flipbookLive?.restore?.();
    try {
      const response = await fetch("/healthz", { cache: "no-store" });
      if (response.ok && !document.querySelector('#live-status[data-state="offline"]')) setOffline(false);
    } catch {
      setOffline(true, "the server still does not answer; retrying by itself.");
    }
  });
  if (!navigator.onLine) setOffline(true, "your browser is offline; live updates are paused.");
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
