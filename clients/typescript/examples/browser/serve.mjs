// Serves the browser example: this folder at /, the package's dist/ at /dist/, and /api/ and
// /ws/ proxied to the Flipbook server, so the page talks to its own origin: the REST API sends
// no CORS headers, and the server refuses WebSockets from another origin unless
// FLIPBOOK_ALLOWED_ORIGINS names it.
//   node examples/browser/serve.mjs [port] [flipbook url]   (after npm run build)
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer, request } from "node:http";
import { connect } from "node:net";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const DIST = resolve(HERE, "../../dist");
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".map": "application/json" };

export function serveExample(port, flipbookUrl) {
  const upstream = new URL(flipbookUrl);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname.startsWith("/api/")) {
      const proxied = request(
        { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      proxied.on("error", () => res.writeHead(502).end());
      req.pipe(proxied);
      return;
    }
    const root = url.pathname.startsWith("/dist/") ? DIST : HERE;
    const relative = url.pathname.startsWith("/dist/") ? url.pathname.slice(6) : url.pathname.slice(1) || "index.html";
    const file = normalize(join(root, relative));
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  // WebSockets: the upgrade request goes upstream as it came (its Host is this page's, so the
  // server sees a same-origin socket), then bytes flow both ways.
  server.on("upgrade", (req, socket, head) => {
    if (!(req.url ?? "").startsWith("/ws/")) {
      socket.destroy();
      return;
    }
    const upstreamSocket = connect(Number(upstream.port), upstream.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstreamSocket.write(lines.join("\r\n") + "\r\n\r\n");
      if (head.length) upstreamSocket.write(head);
      upstreamSocket.pipe(socket);
      socket.pipe(upstreamSocket);
    });
    const close = () => {
      socket.destroy();
      upstreamSocket.destroy();
    };
    upstreamSocket.on("error", close);
    socket.on("error", close);
    upstreamSocket.on("close", close);
    socket.on("close", close);
  });
  return new Promise((done) => server.listen(port, "127.0.0.1", () => done(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.argv[2] ?? 8080);
  const flipbook = process.argv[3] ?? "http://127.0.0.1:8000";
  await serveExample(port, flipbook);
  console.log(`open http://127.0.0.1:${port}/ (Flipbook at ${flipbook})`);
}
