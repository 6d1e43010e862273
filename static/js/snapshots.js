// Snapshots page: run the drift check (GET) or the rebuild (POST with the CSRF token) and show
// the streamed progress lines, then the result.

const panel = document.getElementById("snap-drift");
const form = document.getElementById("snap-form");
const statusLine = document.getElementById("snap-drift-status");
const progress = document.getElementById("snap-progress");
const findings = document.getElementById("snap-findings");
// The rebuild button exists for staff users only (the server refuses others too).
const buttons = [document.getElementById("snap-check"), document.getElementById("snap-rebuild")].filter(
  Boolean,
);
const AUTO_CHECK_UP_TO = 20000; // versions: longer streams are checked on request only

function badge(kind, text) {
  const span = document.createElement("span");
  span.className = `badge ${kind}`;
  span.textContent = text;
  return span;
}

function say(kind, label, text) {
  statusLine.replaceChildren(badge(kind, label), ` ${text}`);
}

async function run(rebuild) {
  buttons.forEach((b) => (b.disabled = true));
  findings.replaceChildren();
  progress.hidden = false;
  progress.removeAttribute("value"); // indeterminate until the first figure
  statusLine.replaceChildren(badge("", rebuild ? "rebuilding" : "checking"), " ");
  const loading = document.createElement("span");
  loading.className = "loading";
  loading.textContent = rebuild ? "Rebuilding drifted snapshots…" : "Folding the events to compare…";
  statusLine.append(loading);
  const options = { headers: { Accept: "application/x-ndjson" } };
  if (rebuild) {
    options.method = "POST";
    options.headers["X-CSRFToken"] = form.querySelector("[name=csrfmiddlewaretoken]").value;
  }
  try {
    const response = await fetch(form.action, options);
    if (!response.ok) {
      let message = `The server answered ${response.status}.`;
      try {
        message = (await response.json()).error.message;
      } catch {}
      if (response.status === 401) message = "Your session has ended: log in again.";
      if (response.status === 403) message = "Refused (403): reload the page and try again.";
      throw new Error(message);
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let finished = false;
    while (!finished) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.trim()) finished = handle(JSON.parse(line), loading) || finished;
      }
    }
    if (!finished) throw new Error("The answer ended early; try again.");
  } catch (error) {
    say("bad", "error", error.message);
  } finally {
    progress.hidden = true;
    buttons.forEach((b) => (b.disabled = false));
  }
}

function handle(message, loading) {
  if (message.type === "progress") {
    if (message.total) {
      progress.max = message.total;
      progress.value = Math.min(message.events_read, message.total);
    }
    loading.textContent = `${message.events_read.toLocaleString()} events read · ${message.seconds} s`;
    return false;
  }
  if (message.type === "error") {
    say("bad", "error", message.error.message);
    return true;
  }
  if (message.type !== "result") return false;
  const summary = `${message.snapshots_checked} snapshot(s) checked, ${message.events_read.toLocaleString()} events read in ${message.seconds} s`;
  if (message.ok) say("ok", "no drift", `${summary}: every snapshot holds what the events fold to.`);
  else if (message.action === "rebuild")
    say("ok", "rebuilt", `${summary}: rebuilt ${message.rebuilt}, deleted ${message.deleted}. Reload to see the list.`);
  else say("warn", "drift", `${summary}: ${message.findings.length + message.more_findings} finding(s). Rebuild to fix them.`);
  for (const finding of message.findings) {
    const item = document.createElement("li");
    const version = finding.version === null ? "" : ` v${finding.version}`;
    item.textContent = `${finding.problem}${version} [${finding.revision || "—"}]: ${finding.detail}${finding.action ? ` → ${finding.action}` : ""}`;
    if (finding.changes?.length) {
      // Field by field: what the stored snapshot holds → what the events fold to now.
      const diff = document.createElement("ul");
      diff.className = "drift-diff mono";
      diff.setAttribute("aria-label", `Fields that differ at version ${finding.version}: stored snapshot → re-folded state`);
      for (const change of finding.changes) {
        const li = document.createElement("li");
        li.className = `diff-${change.op}`;
        const where = change.path.length ? change.path.join(".") : "(the whole state)";
        if (change.op === "added") li.textContent = `+ ${where} = ${short(change.after)} (missing from the snapshot)`;
        else if (change.op === "removed") li.textContent = `− ${where}: snapshot has ${short(change.before)}, the events do not`;
        else li.textContent = `~ ${where}: snapshot ${short(change.before)} → events ${short(change.after)}`;
        diff.append(li);
      }
      if (finding.more_changes) {
        const li = document.createElement("li");
        li.className = "muted";
        li.textContent = `and ${finding.more_changes} more fields`;
        diff.append(li);
      }
      item.append(diff);
    }
    findings.append(item);
  }
  if (message.more_findings) {
    const item = document.createElement("li");
    item.className = "muted";
    item.textContent = `and ${message.more_findings} more (manage.py flipbook_snapshots check lists all)`;
    findings.append(item);
  }
  return true;
}

function short(value) {
  const text = JSON.stringify(value);
  return text === undefined ? "undefined" : text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

buttons[0].addEventListener("click", () => run(false));
form.addEventListener("submit", (event) => {
  event.preventDefault();
  run(true);
});

const head = Number(progress.max);
if (Number(panel.dataset.total) > 0 && head <= AUTO_CHECK_UP_TO) run(false);
