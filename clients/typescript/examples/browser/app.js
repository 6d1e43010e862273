// The browser example: watch a stream live over the WebSocket bus, append over REST.
// Served by serve.mjs, which serves this folder, the package's dist/ and proxies /api/ and /ws/
// to the Flipbook server: the page talks to its own origin (the REST API sends no CORS
// headers, and a WebSocket from another origin needs FLIPBOOK_ALLOWED_ORIGINS on the server).
import { createClient, subscribeLive } from "/dist/index.js";

const watch = document.querySelector("#watch");
const appendForm = document.querySelector("#append");
const status = document.querySelector("#status");
const list = document.querySelector("#events");
const params = new URLSearchParams(location.search);
for (const name of ["server", "key", "stream"]) {
  if (params.has(name)) watch.elements[name].value = params.get(name);
}

let live = null;
let client = null;
let streamId = "";

async function start() {
  live?.close();
  list.replaceChildren();
  const server = watch.elements.server.value || location.origin;
  const apiKey = watch.elements.key.value;
  streamId = watch.elements.stream.value;
  client = createClient(location.origin, { apiKey });
  live = subscribeLive({ stream: streamId }, { url: server, apiKey, onStatus: (value) => (status.textContent = value) });
  window.flipbookLive = live; // for the browser test and the console
  try {
    for await (const event of live) {
      const item = document.createElement("li");
      item.dataset.version = String(event.version);
      item.textContent = `v${event.version} ${event.name} ${JSON.stringify(event.payload)}`;
      list.append(item);
    }
  } catch (error) {
    status.textContent = `error: ${error.message}`;
  }
}

watch.addEventListener("submit", (event) => {
  event.preventDefault();
  void start();
});
appendForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!client) return;
  await client.append(streamId, [{ name: appendForm.elements.name.value, payload: { at: new Date().toISOString() } }]);
});
if (params.has("key")) void start();
