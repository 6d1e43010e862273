// Live updates from the event bus WebSockets: a client that reconnects by itself and resumes
// from the last version (stream) or position (feed) it delivered, so a dropped socket loses
// nothing and delivers nothing twice. Updates the #live-status indicator of base.html.
//
//   const live = subscribeStream(id, {afterVersion, onEvent, onCaughtUp, onState});
//   const feed = subscribeFeed("/ws/events", {after, onEvent, onCaughtUp, onState});
//   live.close();
//
// Tests (and curious people) find every client in window.flipbookLive:
//   flipbookLive.drop({hold: true})  closes the sockets for real and holds the reconnect,
//   flipbookLive.restore()           lets them reconnect (and catch up) now.

const FATAL = new Map([
  [4400, "The live feed refused the request."],
  [4401, "Your session ended: log in again for live updates."],
  [4403, "You may not watch this live."],
]);
const MIN_DELAY = 500;
const MAX_DELAY = 10000;

const clients = new Set();
let held = false;

function socketUrl(path) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

function showStatus(state, text) {
  const el = document.getElementById("live-status");
  if (!el) return;
  // With several clients on a page, the worst state wins.
  const rank = { live: 0, connecting: 1, offline: 2, idle: -1 };
  let worst = state;
  for (const client of clients) {
    if ((rank[client.state] ?? -1) > (rank[worst] ?? -1)) worst = client.state;
  }
  el.hidden = false;
  el.dataset.state = worst;
  el.textContent =
    worst === state && text
      ? text
      : { live: "Live", connecting: "Reconnecting…", offline: "Offline", idle: "" }[worst];
  // The banner of base.html: unmissable while a live socket is down, gone once it is back.
  if (worst === "offline") window.flipbookOffline?.(true, "the live connection to the server is down; live updates are paused and retried.");
  else if (worst === "live" && navigator.onLine) window.flipbookOffline?.(false);
}

class LiveClient {
  constructor(path, subscribe, accept, options) {
    this.path = path;
    this.subscribe = subscribe; // () -> the subscribe message, from what was delivered so far
    this.accept = accept; // (event) -> true when it is new (and records it as delivered)
    this.options = options;
    this.state = "idle";
    this.delay = MIN_DELAY;
    this.closed = false;
    this.socket = null;
    this.timer = null;
    this.fatal = null;
    this.opened = false;
    clients.add(this);
    this.connect();
  }

  setState(state, text) {
    this.state = state;
    showStatus(state, text);
    this.options.onState?.(state, text);
  }

  connect() {
    if (this.closed || held) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.setState("connecting", this.opened ? "Reconnecting…" : "Connecting…");
    this.opened = true;
    const socket = new WebSocket(socketUrl(this.path));
    this.socket = socket;
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify(this.subscribe()));
    });
    socket.addEventListener("message", (message) => {
      if (socket !== this.socket) return;
      let data;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      if (data.type === "event") {
        if (this.accept(data.event)) this.options.onEvent?.(data.event);
      } else if (data.type === "caught_up") {
        this.delay = MIN_DELAY;
        this.setState("live", "Live");
        this.options.onCaughtUp?.(data.position);
      } else if (data.type === "error") {
        this.fatal = data.message;
      }
    });
    socket.addEventListener("close", (event) => {
      if (socket !== this.socket) return;
      this.socket = null;
      if (this.closed) return;
      if (FATAL.has(event.code)) {
        this.closed = true;
        this.setState("offline", FATAL.get(event.code));
        this.options.onError?.(this.fatal || FATAL.get(event.code), event.code);
        return;
      }
      this.retry();
    });
  }

  retry() {
    if (this.closed) return;
    this.setState("offline", held ? "Offline (held)" : "Offline: reconnecting soon…");
    if (held) return;
    const wait = this.delay * (0.75 + Math.random() / 2);
    this.delay = Math.min(this.delay * 2, MAX_DELAY);
    this.timer = setTimeout(() => this.connect(), wait);
  }

  // Close the socket as a network failure would; the client reconnects and catches up.
  drop() {
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close(4000, "dropped");
    this.retry();
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    clients.delete(this);
    if (this.socket) this.socket.close(1000, "done");
    this.socket = null;
  }
}

/** Follow one stream: events after `afterVersion` (or after position `after` on a
 * version-neutral stream), each delivered once, in order, across reconnects. */
export function subscribeStream(streamId, options = {}) {
  let lastVersion = options.afterVersion ?? 0;
  let lastPosition = options.after ?? 0;
  let neutral = options.afterVersion == null && options.after != null;
  const neutralSeen = new Set();
  const path = `/ws/streams?stream_id=${encodeURIComponent(streamId)}`;
  const subscribe = () =>
    neutral
      ? { type: "subscribe", after: lastPosition }
      : { type: "subscribe", after_version: lastVersion };
  const accept = (event) => {
    if (event.version == null) {
      // Version-neutral: live ones may come out of position order; positions are unique.
      neutral = true;
      if (event.position <= (options.after ?? 0) || neutralSeen.has(event.position)) return false;
      neutralSeen.add(event.position);
      lastPosition = Math.max(lastPosition, event.position);
      return true;
    }
    if (event.version <= lastVersion) return false;
    lastVersion = event.version;
    lastPosition = Math.max(lastPosition, event.position);
    return true;
  };
  return new LiveClient(path, subscribe, accept, options);
}

/** Follow a feed (`/ws/events` or `/ws/categories/<name>`): events after position `after`,
 * in position order, each delivered once across reconnects. */
export function subscribeFeed(path, options = {}) {
  let lastPosition = options.after ?? 0;
  const subscribe = () => ({ type: "subscribe", after: lastPosition });
  const accept = (event) => {
    if (event.position <= lastPosition) return false;
    lastPosition = event.position;
    return true;
  };
  return new LiveClient(path, subscribe, accept, options);
}

window.flipbookLive = {
  get clients() {
    return [...clients];
  },
  drop({ hold = false } = {}) {
    held = hold;
    for (const client of clients) client.drop();
    return clients.size;
  },
  restore() {
    held = false;
    for (const client of clients) if (!client.socket && !client.closed) client.connect();
  },
  get states() {
    return [...clients].map((client) => client.state);
  },
};

// Back online: retry now rather than after the back-off.
window.addEventListener("online", () => {
  if (!held) for (const client of clients) if (!client.socket && !client.closed) client.connect();
});
