// reports.Compare in JS for the dev preview's embedded comparison (the
// renderer itself uses src/summary.ts when a file has a baseline only).
const round = (v, d) => Math.round(v * 10 ** d) / 10 ** d;
function delta(metric, unit, lowerBetter, base, head) {
  const improved = lowerBetter ? head < base : head > base;
  const differs = head !== base;
  return { metric, unit, base, head, delta: round(head - base, 6), delta_pct: base ? round((100 * (head - base)) / base, 3) : 0, better: differs && improved, worse: differs && !improved };
}
function lat(b, h, br, be, hr, he) {
  const out = ["p50", "p90", "p95", "p99", "p999", "max", "mean"].map((k) => delta(k, "ms", true, b[k], h[k]));
  out.push(delta("error_rate", "ratio", true, br ? be / br : 0, hr ? he / hr : 0), delta("requests", "count", false, br, hr));
  return out;
}
export function compareReportsJs(base, head) {
  return {
    base: { run_id: base.run_id, scenario: base.scenario, status: base.status },
    head: { run_id: head.run_id, scenario: head.scenario, status: head.status },
    metrics: [delta("rps", "1/s", false, base.totals.rps, head.totals.rps), delta("dropped_iterations", "count", true, base.totals.dropped_iterations, head.totals.dropped_iterations), ...lat(base.latency_ms, head.latency_ms, base.totals.requests, base.totals.errors, head.totals.requests, head.totals.errors)],
    steps: head.steps.filter((s) => base.steps.some((b) => b.name === s.name)).map((s) => {
      const b = base.steps.find((x) => x.name === s.name);
      return { name: s.name, metrics: lat(b.latency_ms, s.latency_ms, b.requests, b.errors, s.requests, s.errors) };
    }),
  };
}
