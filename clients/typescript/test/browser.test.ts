/** The browser example in Debian's Chromium (playwright-core, no browser download): the SDK
 * from dist/ subscribes over the browser's own WebSocket, shows live events, appends over
 * REST, and resumes without gap or duplicate after its socket is dropped. */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { createClient } from "../src/index.js";
import { HTTP_URL, KEY, unique } from "./helpers.js";
import { PACKAGE_DIR, freePort } from "./server.js";

const CHROMIUM = process.env["FLIPBOOK_CHROMIUM"] ?? "/usr/bin/chromium";
let browser: Browser;
let server: Server;
let pageUrl: string;

before(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: run make services (it installs Debian's chromium)`);
  assert.ok(existsSync(join(PACKAGE_DIR, "dist/index.js")), "dist/ is built (npm run build)");
  const { serveExample } = (await import(join(PACKAGE_DIR, "examples/browser/serve.mjs"))) as {
    serveExample: (port: number, url: string) => Promise<Server>;
  };
  const port = await freePort();
  server = await serveExample(port, HTTP_URL);
  pageUrl = `http://127.0.0.1:${port}/`;
  // Playwright gives the browser a fresh temporary profile (its --user-data-dir) of its own.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

after(async () => {
  await browser.close();
  await new Promise((done) => server.close(done));
});

async function versions(page: Page): Promise<string[]> {
  return page.$$eval("#events li", (items) => items.map((item) => (item as HTMLElement).dataset["version"] ?? ""));
}

async function waitForVersions(page: Page, count: number): Promise<string[]> {
  await page.waitForFunction((n) => document.querySelectorAll("#events li").length >= n, count, { timeout: 20_000 });
  return versions(page);
}

test("the browser page shows a stream live over the WebSocket and survives a dropped socket", async () => {
  const client = createClient(HTTP_URL, { apiKey: KEY });
  const stream = `${unique()}/browser ✓`;
  await client.append(stream, [{ name: "Before", payload: 1 }]);
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  // The page watches through its own origin (serve.mjs proxies /ws/): the server refuses
  // WebSockets from another origin.
  const query = new URLSearchParams({ server: new URL(pageUrl).origin, key: KEY, stream });
  await page.goto(`${pageUrl}?${query.toString()}`);
  await page.waitForFunction(() => document.querySelector("#status")?.textContent === "live", undefined, { timeout: 20_000 });
  assert.deepEqual(await waitForVersions(page, 1), ["1"]);
  // The browser has no `ws` package: the live part ran on its global WebSocket.
  assert.equal(await page.evaluate(() => typeof WebSocket), "function");

  await client.append(stream, [{ name: "FromNode", payload: 2 }, { name: "FromNode", payload: 3 }]);
  assert.deepEqual(await waitForVersions(page, 3), ["1", "2", "3"]);

  await page.click("#append button"); // REST from the browser, through the same-origin proxy
  assert.deepEqual(await waitForVersions(page, 4), ["1", "2", "3", "4"]);

  await page.evaluate(() => (window as unknown as { flipbookLive: { dropConnection(): void } }).flipbookLive.dropConnection());
  await client.append(stream, [{ name: "WhileReconnecting", payload: 5 }]);
  assert.deepEqual(await waitForVersions(page, 5), ["1", "2", "3", "4", "5"]);
  await page.waitForFunction(() => document.querySelector("#status")?.textContent === "live", undefined, { timeout: 20_000 });
  await client.append(stream, [{ name: "AfterReconnect", payload: 6 }]);
  assert.deepEqual(await waitForVersions(page, 6), ["1", "2", "3", "4", "5", "6"]);
  assert.equal(await page.evaluate(() => (window as unknown as { flipbookLive: { reconnects: number } }).flipbookLive.reconnects), 1);
  const stored = await client.readPage(stream, { fromVersion: 4, toVersion: 4 });
  assert.equal(stored.items[0]?.name, "Clicked", "the browser's append is stored");
  assert.deepEqual(errors, []);
});
