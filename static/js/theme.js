// Light or dark: the system's choice until the user picks one, remembered in localStorage.
const root = document.documentElement;
const saved = localStorage.getItem("flipbook-theme");
if (saved) root.dataset.theme = saved;

document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("theme-toggle");
  if (!button) return;
  button.addEventListener("click", () => {
    const dark = root.dataset.theme
      ? root.dataset.theme === "dark"
      : matchMedia("(prefers-color-scheme: dark)").matches;
    root.dataset.theme = dark ? "light" : "dark";
    localStorage.setItem("flipbook-theme", root.dataset.theme);
  });
});
