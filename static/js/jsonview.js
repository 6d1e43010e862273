// A JSON viewer: a tree expanded by default up to a size (bigger values start folded), syntax
// colours, long strings folded behind a "more" toggle, and a copy button.
const EXPAND_NODES = 200; // values with up to this many nodes open fully expanded
const LONG_STRING = 160;

function countNodes(value, limit) {
  let count = 0;
  const walk = (v) => {
    if (count > limit) return;
    count += 1;
    if (v && typeof v === "object") for (const child of Object.values(v)) walk(child);
  };
  walk(value);
  return count;
}

function scalar(value) {
  const span = document.createElement("span");
  const type = value === null ? "null" : typeof value;
  span.className = `jv-${type}`;
  const text = JSON.stringify(value);
  if (type === "string" && text.length > LONG_STRING) {
    span.textContent = `${text.slice(0, LONG_STRING)}…`;
    const more = document.createElement("button");
    more.type = "button";
    more.className = "jv-more";
    more.textContent = `+${text.length - LONG_STRING} chars`;
    more.setAttribute("aria-expanded", "false");
    more.addEventListener("click", () => {
      const open = more.getAttribute("aria-expanded") === "true";
      span.textContent = open ? `${text.slice(0, LONG_STRING)}…` : text;
      more.setAttribute("aria-expanded", String(!open));
      more.textContent = open ? `+${text.length - LONG_STRING} chars` : "fold";
    });
    const wrap = document.createElement("span");
    wrap.append(span, " ", more);
    return wrap;
  }
  span.textContent = text;
  return span;
}

function node(value, open) {
  if (value === null || typeof value !== "object") return scalar(value);
  const isArray = Array.isArray(value);
  const entries = isArray ? value.map((v, i) => [i, v]) : Object.entries(value);
  if (!entries.length) {
    const span = document.createElement("span");
    span.className = "jv-null";
    span.textContent = isArray ? "[]" : "{}";
    return span;
  }
  const details = document.createElement("details");
  details.open = open;
  const summary = document.createElement("summary");
  summary.className = "jv-summary";
  summary.textContent = isArray ? `[ ${entries.length} item${entries.length === 1 ? "" : "s"} ]` : `{ ${entries.length} key${entries.length === 1 ? "" : "s"} }`;
  const list = document.createElement("ul");
  for (const [key, child] of entries) {
    const li = document.createElement("li");
    const label = document.createElement("span");
    label.className = "jv-key";
    label.textContent = isArray ? `${key}:` : `${JSON.stringify(key)}:`;
    li.append(label, " ", node(child, open));
    list.append(li);
  }
  details.append(summary, list);
  return details;
}

/** A viewer of ``value`` with a heading ``title`` and a copy button. */
export function jsonViewer(value, title) {
  const box = document.createElement("section");
  box.className = "jv";
  const bar = document.createElement("div");
  bar.className = "jv-bar";
  const heading = document.createElement("h3");
  heading.textContent = title;
  const copy = document.createElement("button");
  copy.type = "button";
  copy.className = "btn small jv-copy";
  copy.textContent = "Copy";
  copy.setAttribute("aria-label", `Copy the ${title.toLowerCase()} as JSON`);
  copy.addEventListener("click", async () => {
    const text = JSON.stringify(value, null, 2);
    try {
      await navigator.clipboard.writeText(text);
      copy.textContent = "Copied";
    } catch {
      copy.textContent = "Copy failed";
    }
    setTimeout(() => (copy.textContent = "Copy"), 1500);
  });
  bar.append(heading, copy);
  const tree = document.createElement("div");
  tree.className = "jv-tree mono";
  tree.append(node(value, countNodes(value, EXPAND_NODES) <= EXPAND_NODES));
  box.append(bar, tree);
  return box;
}
