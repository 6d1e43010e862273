// Confirmations that name what will change: a submit button with data-confirm (or a reset
// form, whose text depends on the chosen target) opens the page's <dialog> first.
const dialog = document.getElementById("confirm-dialog");

function resetText(form) {
  const name = form.dataset.name;
  const from = form.dataset.checkpoint;
  const to = form.elements.to.value;
  const target = {
    beginning: "the beginning (position 0): every matching event is delivered again",
    end: "the end of the feed: the events waiting now are never delivered",
    after: `position ${form.elements.after.value || "?"}`,
    at: `just before the first event recorded after ${form.elements.at.value || "?"}`,
  }[to];
  const parked = Number(form.dataset.parked) > 0
    ? ` Parked events after the new checkpoint are dropped (they are delivered again).`
    : "";
  return `Move the checkpoint of ${name} from ${from} to ${target}?${parked}`;
}

export function confirmText(form, submitter) {
  if (submitter?.dataset.confirm) return submitter.dataset.confirm;
  if (form.hasAttribute("data-reset")) return resetText(form);
  return null;
}

function ask(text) {
  document.getElementById("confirm-text").textContent = text;
  dialog.returnValue = "";
  dialog.showModal();
  document.getElementById("confirm-cancel").focus();
  return new Promise((resolve) =>
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true }));
}

if (dialog) {
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method !== "post" || form.dataset.confirmed) return;
    const submitter = event.submitter;
    const text = confirmText(form, submitter);
    if (!text) return;
    event.preventDefault();
    if (!(await ask(text))) return;
    // Submit again with the same button's name and value, without asking twice.
    form.dataset.confirmed = "1";
    form.requestSubmit(submitter || undefined);
  });
}
