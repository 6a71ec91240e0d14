// Synthetic reports for tests and the dev preview. Deterministic (seeded).

function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const r3 = (v) => Math.round(v * 1000) / 1000;

/**
 * @param {{seconds?: number, workers?: number, steps?: number, seed?: number, name?: string,
 *   errorsOnly?: boolean, legacy?: boolean, status?: string, runId?: string, slower?: number}} o
 */
export function makeReport(o = {}) {
  const seconds = o.seconds ?? 60;
  const nw = o.workers ?? 3;
  const ns = o.steps ?? 3;
  const rand = rng(o.seed ?? 42);
  const slower = o.slower ?? 1;
  const workerIds = Array.from({ length: nw }, (_, i) => `local-${i + 1}`);
  const stepMeta = Array.from({ length: ns }, (_, i) => ({ name: i === 0 ? "list items" : `step ${i + 1}`, method: i % 3 === 2 ? "POST" : "GET", url: i === 0 ? "/items" : `/items/{{ item_id }}/part${i}` }));
  const series = [];
  const totals = { requests: 0, errors: 0, error_rate: 0, rps: 0, bytes_sent: 0, bytes_received: 0, dropped_iterations: 0, checks_passed: 0, checks_failed: 0 };
  const codes = {};
  const classes = {};
  const stepTot = stepMeta.map(() => ({ requests: 0, errors: 0, codes: {} }));
  for (let i = 0; i < seconds; i++) {
    const t = i + 1;
    const ramp = Math.min(1, t / Math.max(1, seconds * 0.2));
    const target = Math.round(50 * ramp);
    const active = workerIds.filter((_, w) => !(w === nw - 1 && nw > 1 && t > seconds * 0.6 && t < seconds * 0.7));
    const vusByWorker = {};
    for (const w of active) vusByWorker[w] = Math.max(0, Math.round(target / active.length + (rand() - 0.5) * 2));
    const vus = Object.values(vusByWorker).reduce((a, b) => a + b, 0);
    const requests = Math.round(vus * 9 + rand() * 20);
    const errRate = o.errorsOnly ? 1 : t > seconds * 0.5 && t < seconds * 0.55 ? 0.08 : 0.003 * rand();
    const errors = Math.round(requests * errRate);
    const base = o.errorsOnly ? 0 : (20 + 30 * ramp + rand() * 5) * slower;
    const p = (f) => (o.errorsOnly ? 0 : r3(base * f));
    const sc = {};
    if (requests - errors > 0 && !o.errorsOnly) sc["200"] = requests - errors;
    const ec = {};
    if (errors > 0) {
      if (o.errorsOnly) ec["refused"] = errors;
      else {
        const e5 = Math.ceil(errors * 0.7);
        sc["503"] = e5;
        ec["http_5xx"] = e5;
        if (errors - e5 > 0) ec["timeout"] = errors - e5;
        sc["200"] = (sc["200"] ?? 0) - (errors - e5 > 0 ? 0 : 0);
      }
    }
    const steps = stepMeta.map((_, s) => {
      const share = Math.floor(requests / ns) + (s < requests % ns ? 1 : 0);
      const se = Math.floor(errors / ns) + (s < errors % ns ? 1 : 0);
      stepTot[s].requests += share;
      stepTot[s].errors += se;
      return { requests: share, errors: se, p50: p(0.9 + s * 0.1), p95: p(1.8 + s * 0.2), p99: p(2.5 + s * 0.3) };
    });
    const bs = requests * 180;
    const br = o.errorsOnly ? 0 : (requests - errors) * 1200;
    const point = {
      t,
      rps: requests,
      error_rate: requests ? r3((errors / requests) * 1000) / 1000 : 0,
      p50: p(1),
      p95: p(2),
      p99: p(2.8),
      vus,
      workers: active.length,
    };
    if (!o.legacy) {
      Object.assign(point, { requests, errors, p90: p(1.7), max: p(4 + rand()), target_vus: target, dropped_iterations: 0, bytes_sent: bs, bytes_received: br, vus_by_worker: vusByWorker, steps });
      if (Object.keys(sc).length) point.status_codes = sc;
      if (Object.keys(ec).length) point.errors_by_class = ec;
    }
    series.push(point);
    totals.requests += requests;
    totals.errors += errors;
    totals.bytes_sent += bs;
    totals.bytes_received += br;
    for (const [k, v] of Object.entries(sc)) codes[k] = (codes[k] ?? 0) + v;
    for (const [k, v] of Object.entries(ec)) classes[k] = (classes[k] ?? 0) + v;
  }
  totals.error_rate = totals.requests ? totals.errors / totals.requests : 0;
  totals.rps = r3(totals.requests / Math.max(1, seconds));
  totals.checks_passed = totals.requests - totals.errors;
  totals.checks_failed = Math.round(totals.errors * 0.2);
  const lat = (f) => (o.errorsOnly || seconds === 0 ? 0 : r3(45 * f * slower));
  const latency = { min: lat(0.1), mean: lat(1.1), p50: lat(1), p90: lat(1.7), p95: lat(2), p99: lat(2.8), p999: lat(4), max: lat(5) };
  const histogram = [];
  if (!o.errorsOnly && totals.requests > 0) {
    const bounds = [2, 5, 10, 20, 50, 100, 200, 500, 1000];
    const weights = [0.01, 0.04, 0.1, 0.25, 0.4, 0.15, 0.04, 0.008, 0.002];
    let left = totals.requests;
    bounds.forEach((le, i) => {
      const c = i === bounds.length - 1 ? left : Math.round(totals.requests * weights[i]);
      left -= c;
      histogram.push({ le_ms: le, count: c });
    });
  }
  const percentiles = [];
  if (!o.errorsOnly && totals.requests > 0 && !o.legacy) {
    let prev = 0;
    for (const q of [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100]) {
      prev = Math.max(prev * 1.01, r3(45 * slower * (0.1 + Math.pow(Math.min(5, -Math.log10(1 - q / 100 + 1e-9)) + 0.2, 1.6) * 0.8)));
      percentiles.push({ percentile: q, ms: r3(prev) });
    }
  }
  const start = Date.parse("2026-11-28T06:22:37Z");
  const report = {
    run_id: o.runId ?? "run_20261128T062237_89a86948da",
    scenario_id: "sc_20261128T061500_3f9a1c2b0d",
    scenario: o.name ?? "checkout flow",
    status: o.status ?? "completed",
    started_at: new Date(start).toISOString(),
    ended_at: new Date(start + seconds * 1000).toISOString(),
    target_base_url: "http://127.0.0.1:18080",
    worker_count: nw,
    temporal_workflow_id: o.runId ?? "run_20261128T062237_89a86948da",
    totals,
    latency_ms: latency,
    status_codes: codes,
    errors_by_class: classes,
    steps: stepMeta.map((m, s) => ({
      ...m,
      requests: stepTot[s].requests,
      errors: stepTot[s].errors,
      error_rate: stepTot[s].requests ? stepTot[s].errors / stepTot[s].requests : 0,
      latency_ms: { min: lat(0.1), mean: lat(1 + s * 0.1), p50: lat(0.9 + s * 0.1), p90: lat(1.6), p95: lat(1.8 + s * 0.2), p99: lat(2.5 + s * 0.3), p999: lat(3.5), max: lat(4.5 + s) },
      status_codes: {},
      checks_passed: stepTot[s].requests - stepTot[s].errors,
      checks_failed: 0,
    })),
    workers: workerIds.map((id, w) => ({ id, shards: [w], requests: Math.round(totals.requests / nw) })),
    series,
    thresholds: [
      { expression: "p95 < 300ms", step: "", passed: true, actual: latency.p95, limit: 300 },
      { expression: "error_rate < 1%", step: "", passed: totals.error_rate < 0.01, actual: r3(totals.error_rate * 1e3) / 1e3, limit: 0.01 },
      { expression: "p95 < baseline * 1.1", step: "", passed: false, actual: latency.p95, no_baseline: true, error: "no baseline run" },
    ],
    events: seconds
      ? [
          { t: -2, kind: "started", detail: "run started; load starts in 2 s" },
          ...workerIds.map((w, i) => ({ t: 0, kind: "shard_started", detail: `${w} began shard ${i}` })),
          ...(nw > 1 ? [{ t: r3(seconds * 0.6), kind: "worker_lost", detail: `${workerIds[nw - 1]} went silent` }] : []),
          { t: r3(seconds * 0.4), kind: "ramp", detail: "target 50 VUs over 10 s, by console" },
          { t: seconds, kind: "finished", detail: "completed" },
        ]
      : [],
    histogram,
    measurement_gaps: nw > 1 && seconds ? [{ worker: workerIds[nw - 1], shard: nw - 1, from_t: r3(seconds * 0.6), to_t: r3(seconds * 0.6 + 3.5), estimated_requests: 812, reason: "the worker was lost before sending its last snapshot" }] : [],
  };
  if (!o.legacy) {
    report.percentiles = percentiles;
    report.scenario_yaml = `name: ${o.name ?? "checkout flow"}\nvirtual_users: 50\nduration_seconds: ${seconds}\nsteps:\n  - name: list items\n    method: GET\n    url_template: /items\n    headers:\n      Authorization: "[redacted]"\nthresholds:\n  - p95 < 300ms\n  - error_rate < 1%\n`;
    report.temporal_ui_url = "http://127.0.0.1:8233/namespaces/default/workflows/" + report.run_id;
  }
  return report;
}
