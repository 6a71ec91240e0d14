#!/usr/bin/env node --experimental-websocket
// Dev helper: opens pages in an already running headless Chromium (started
// with --remote-debugging-port=9222), waits for data-ready, prints the
// render time and saves a full-page screenshot and optionally a PDF.
//   node --experimental-websocket dev/shoot.mjs URL OUT.png [OUT.pdf]
import { writeFileSync } from "node:fs";

const [url, png, pdf] = process.argv.slice(2);
const targets = await (await fetch("http://127.0.0.1:9222/json/list")).json();
let page = targets.find((t) => t.type === "page");
if (!page) page = await (await fetch("http://127.0.0.1:9222/json/new?about:blank", { method: "PUT" })).json();
const ws = new WebSocket(page.webSocketDebuggerUrl);
await new Promise((r) => ws.addEventListener("open", r, { once: true }));
let id = 0;
const pending = new Map();
const logs = [];
ws.addEventListener("message", (ev) => {
  const m = JSON.parse(ev.data);
  if (m.id && pending.has(m.id)) {
    pending.get(m.id)(m);
    pending.delete(m.id);
  } else if (m.method === "Runtime.consoleAPICalled" || m.method === "Runtime.exceptionThrown") logs.push(JSON.stringify(m.params).slice(0, 400));
  else if (m.method === "Log.entryAdded") logs.push("LOG " + m.params.entry.level + " " + m.params.entry.text.slice(0, 300));
  else if (m.method === "Network.requestWillBeSent") logs.push("NETWORK " + m.params.request.url.slice(0, 100));
});
const send = (method, params = {}) =>
  new Promise((resolve, reject) => {
    const i = ++id;
    pending.set(i, (m) => (m.error ? reject(new Error(JSON.stringify(m.error))) : resolve(m.result)));
    ws.send(JSON.stringify({ id: i, method, params }));
  });
await send("Runtime.enable");
await send("Network.enable");
await send("Log.enable");
await send("Emulation.setDeviceMetricsOverride", { width: 1200, height: 900, deviceScaleFactor: 1, mobile: false });
const t0 = Date.now();
await send("Page.navigate", { url });
let ready = "";
for (let i = 0; i < 200; i++) {
  const r = await send("Runtime.evaluate", { expression: "document.documentElement.dataset.ready || ''", returnByValue: true });
  ready = r.result.value;
  if (ready) break;
  await new Promise((r) => setTimeout(r, 50));
}
const info = await send("Runtime.evaluate", { expression: "JSON.stringify({marks: performance.getEntriesByType('mark').map(m => m.name.slice(8) + '@' + Math.round(m.startTime)).join(' '), ms: document.documentElement.dataset.renderMs, points: document.querySelector('[data-testid=run-page]')?.dataset.points, charts: [...document.querySelectorAll('[data-chart]')].length, h: document.documentElement.scrollHeight})", returnByValue: true });
console.log(`ready=${ready} after ${Date.now() - t0} ms`, info.result.value);
if (process.env.WAIT_MS) await new Promise((r) => setTimeout(r, Number(process.env.WAIT_MS)));
const info2 = await send("Runtime.evaluate", { expression: "JSON.stringify({points: document.querySelector('[data-testid=run-page]')?.dataset.points, status: document.querySelector('[data-testid=run-status]')?.textContent, events: document.querySelectorAll('[data-testid=events] li').length, controls: !!document.querySelector('[data-testid=abort]'), dl: document.querySelector('[data-testid=download-report]')?.getAttribute('href')?.slice(0,5)})", returnByValue: true });
console.log("after wait", info2.result.value);
if (process.env.EVAL) { const r = await send("Runtime.evaluate", { expression: process.env.EVAL, awaitPromise: true, returnByValue: true }); console.log("eval", JSON.stringify(r.result.value ?? r.exceptionDetails?.text)); }
if (png) {
  const { result } = await send("Runtime.evaluate", { expression: "document.documentElement.scrollHeight", returnByValue: true });
  const shot = await send("Page.captureScreenshot", { format: "png", captureBeyondViewport: true, clip: { x: 0, y: 0, width: 1200, height: result.value, scale: 1 } });
  writeFileSync(png, Buffer.from(shot.data, "base64"));
}
if (pdf) {
  const out = await send("Page.printToPDF", { printBackground: true, preferCSSPageSize: true });
  writeFileSync(pdf, Buffer.from(out.data, "base64"));
}
for (const l of logs) console.log(l);
ws.close();
