#!/usr/bin/env node
// Dev helper: a stand-in for `barrage server` to try the console without
// the Go side. Serves the /ui shell, dist/ and a fake API with one finished
// run, one live run (SSE) and one queued run. 127.0.0.1 only.
//   node dev/mock-server.mjs [port]
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeReport } from "../test/gen-report.mjs";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const port = Number(process.argv[2] ?? 8787);
const done = makeReport({ seconds: 120, runId: "run_done" });
const base = makeReport({ seconds: 100, runId: "run_base", seed: 9 });
const liveFull = makeReport({ seconds: 600, runId: "run_live", status: "running" });
const started = Date.now();
const LIVE_POINTS = 60; // ends after 60 points, 5 per second
const liveCount = () => Math.min(LIVE_POINTS, Math.floor((Date.now() - started) / 200));
const runs = [
  { run_id: "run_queued", scenario_id: "sc_x", scenario_name: "</script><img src=x onerror=alert(1)>", status: "queued", target_base_url: "http://127.0.0.1:1", worker_count: 1, tags: { env: "dev" }, created_at: new Date().toISOString(), temporal_workflow_id: "run_queued", elastic: true, max_workers: 0 },
  { run_id: "run_live", scenario_id: "sc_1", scenario_name: "checkout flow", status: "running", target_base_url: "http://127.0.0.1:18080", worker_count: 3, tags: { build: "42" }, created_at: liveFull.started_at, started_at: liveFull.started_at, temporal_workflow_id: "run_live", elastic: true, max_workers: 0 },
  { run_id: "run_done", scenario_id: "sc_1", scenario_name: "checkout flow", status: "completed", target_base_url: "http://127.0.0.1:18080", worker_count: 3, tags: {}, created_at: done.started_at, started_at: done.started_at, ended_at: done.ended_at, temporal_workflow_id: "run_done", baseline_run_id: "run_base", elastic: true, max_workers: 0, summary: { requests: done.totals.requests, rps: done.totals.rps, p95_ms: done.latency_ms.p95, error_rate: done.totals.error_rate, thresholds_passed: true } },
  { run_id: "run_base", scenario_id: "sc_1", scenario_name: "checkout flow", status: "completed", target_base_url: "http://127.0.0.1:18080", worker_count: 3, tags: {}, created_at: base.started_at, started_at: base.started_at, ended_at: base.ended_at, temporal_workflow_id: "run_base", elastic: true, max_workers: 0, summary: { requests: base.totals.requests, rps: base.totals.rps, p95_ms: base.latency_ms.p95, error_rate: base.totals.error_rate, thresholds_passed: false } },
];
const liveStatus = () => (liveCount() >= LIVE_POINTS ? "completed" : "running");
const liveReport = () => ({ ...liveFull, status: liveStatus(), series: liveFull.series.slice(0, liveCount()) });

function json(res, code, body) {
  res.writeHead(code, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}
const shell = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Barrage</title><link rel="stylesheet" href="/ui/assets/app.css"></head><body><div id="app"></div><script src="/ui/assets/app.js"></script></body></html>`;

createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  const p = url.pathname;
  if (p === "/ui/assets/app.js") return res.writeHead(200, { "Content-Type": "text/javascript" }), res.end(readFileSync(join(dist, "app.js")));
  if (p === "/ui/assets/app.css") return res.writeHead(200, { "Content-Type": "text/css" }), res.end(readFileSync(join(dist, "app.css")));
  if (p === "/ui" || p.startsWith("/ui/")) return res.writeHead(200, { "Content-Type": "text/html" }), res.end(shell);
  if (p === "/runs" && req.method === "GET") {
    let list = runs.map((r) => (r.run_id === "run_live" ? { ...r, status: liveStatus() } : r));
    for (const k of ["status", "scenario_id"]) if (url.searchParams.get(k)) list = list.filter((r) => r[k] === url.searchParams.get(k));
    return json(res, 200, { runs: list, next: "" });
  }
  if (p === "/runs" && req.method === "POST") return json(res, 201, { ...runs[2] });
  if (p === "/runs/compare") return json(res, 200, { base: { run_id: "run_base", scenario: "checkout flow", status: "completed" }, head: { run_id: "run_done", scenario: "checkout flow", status: "completed" }, metrics: [{ metric: "p95", unit: "ms", base: 90, head: 99, delta: 9, delta_pct: 10, better: false, worse: true }], steps: [] });
  let m = /^\/runs\/([^/]+)(\/[a-z]+)?$/.exec(p);
  if (m) {
    const [, id, sub] = m;
    const run = runs.find((r) => r.run_id === id);
    if (!run) return json(res, 404, { error: { code: "not_found", message: `no run ${id}` } });
    const rep = id === "run_done" ? done : id === "run_base" ? base : id === "run_live" ? liveReport() : null;
    if (!sub) return json(res, 200, id === "run_live" ? { ...run, status: liveStatus() } : run);
    if (sub === "/report") return rep ? json(res, 200, rep) : json(res, 404, { error: { code: "not_found", message: "no report yet" } });
    if (sub === "/events") return json(res, 200, { events: (rep?.events ?? []).filter((e) => id !== "run_live" || e.t <= liveCount()) });
    if (sub === "/abort") return json(res, 202, { status: "aborting" });
    if (sub === "/ramp") {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const b = JSON.parse(body || "{}");
        if (!(b.target >= 0)) return json(res, 422, { error: { code: "invalid_field", field: "target", message: "target: must be a number ≥ 0 <b>not html</b>" } });
        json(res, 202, { target: b.target });
      });
      return;
    }
    if (sub === "/metrics") {
      res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
      res.write("retry: 2000\n\n");
      res.write(`id: 0-running\nevent: status\ndata: {"status":"running","reason":""}\n\n`);
      const last = req.headers["last-event-id"];
      let sent = last ? parseInt(last, 10) || 0 : 0;
      const tick = () => {
        const n = id === "run_live" ? liveCount() : 0;
        while (sent < n) {
          const pt = { ...liveFull.series[sent], interval: sent, revision: 1, revised: false, end_at_ms: 0, folded_at_ms: 0 };
          sent++;
          res.write(`id: ${sent}\ndata: ${JSON.stringify(pt)}\n\n`);
          if (sent % 10 === 0 && sent > 1) res.write(`id: ${sent}\ndata: ${JSON.stringify({ ...liveFull.series[sent - 2], interval: sent - 2, rps: 999, revision: 2, revised: true })}\n\n`);
        }
        if (n >= LIVE_POINTS || id !== "run_live") {
          res.write(`id: ${sent}-completed\nevent: status\ndata: {"status":"completed","reason":""}\n\n`);
          res.write(`id: ${sent}-end\nevent: end\ndata: {"status":"completed"}\n\n`);
          clearInterval(timer);
          res.end();
        }
      };
      const timer = setInterval(tick, 200);
      req.on("close", () => clearInterval(timer));
      return;
    }
  }
  if (p === "/scenarios") return json(res, 200, { scenarios: [{ scenario_id: "sc_1", version: 3, name: "checkout flow", created_at: done.started_at }] });
  m = /^\/scenarios\/([^/]+)$/.exec(p);
  if (m) {
    const v = Number(url.searchParams.get("version") ?? 3);
    return json(res, 200, { scenario_id: m[1], version: v, name: "checkout flow", created_at: done.started_at, scenario: { name: "checkout flow" }, yaml: `name: checkout flow # version ${v}\nsteps:\n  - name: "</pre><script>alert(1)</script>"\n` });
  }
  json(res, 404, { error: { code: "not_found", message: "no route" } });
}).listen(port, "127.0.0.1", () => console.log(`mock server on http://127.0.0.1:${port}/ui/`));
