import { describe, expect, it } from "vitest";
import { PointStore } from "../src/live";
import { distributionCharts, overlayCharts, stepCharts, timeCharts } from "../src/chartspecs";
import { MAX_NINES, MAX_WORKER_LINES, decimate, hasData, histogramBars, intervalWidths, joinOnT, keyedRates, ninesLabel, ninesTicks, ninesX, percentileCurve, shapeSeries, workerVus } from "../src/shape";
import type { Report, SeriesPoint } from "../src/types";
import { makeReport } from "./gen-report.mjs";

const pt = (t: number, extra: Partial<SeriesPoint> = {}): SeriesPoint => ({ t, rps: 10, error_rate: 0, p50: 5, p95: 9, p99: 12, vus: 2, workers: 1, ...extra });

function slotsByName(slots: { name: string; spec: unknown }[]) {
  return Object.fromEntries(slots.map((s) => [s.name, s]));
}

describe("intervalWidths", () => {
  it("uses the gap to the previous point, and the first point's own requests/rps", () => {
    const dt = intervalWidths([pt(0.5, { requests: 5, rps: 10 }), pt(1.5), pt(3.5)]);
    expect(Array.from(dt)).toEqual([0.5, 1, 2]);
  });
  it("falls back to 1 s when the first point cannot tell", () => {
    expect(Array.from(intervalWidths([pt(1, { rps: 0, requests: 0 })]))).toEqual([1]);
    expect(Array.from(intervalWidths([pt(1)]))).toEqual([1]);
  });
});

describe("the run's last, partial interval", () => {
  it("is charted over a whole interval, not as a spike", () => {
    // 15 requests finishing in the 13 ms after the end: report.json says
    // 1,154/s for that sliver; the chart says 15 in a second.
    const pts = [pt(1, { requests: 190, rps: 190 }), pt(2, { requests: 194, rps: 194 }), pt(3, { requests: 188, rps: 188 }), pt(3.013, { requests: 15, rps: 1153.8 })];
    expect(Array.from(intervalWidths(pts))).toEqual([1, 1, 1, 1]);
    const s = shapeSeries(pts);
    expect(Array.from(s.rps)).toEqual([190, 194, 188, 15]);
  });
});

describe("shapeSeries", () => {
  it("shapes an empty run", () => {
    const s = shapeSeries([], 0);
    expect(s.n).toBe(0);
    expect(s.t.length).toBe(0);
    expect(s.p90).toBeNull();
    expect(s.vusByWorker).toBeNull();
    expect(s.statusCodes).toBeNull();
    expect(s.steps).toBeNull();
    const slots = slotsByName(timeCharts(s));
    for (const name of ["rps", "latency", "error_rate", "vus", "workers", "dropped", "bytes", "status_codes", "error_classes"]) {
      expect(slots[name], name).toBeDefined();
      expect(slots[name]!.spec, name).toBeNull();
    }
  });

  it("splits requests/s into ok and errors (stacked)", () => {
    const s = shapeSeries([pt(1, { rps: 100, requests: 100, errors: 25, error_rate: 0.25 }), pt(2, { rps: 50, requests: 50, errors: 0 })]);
    expect(Array.from(s.errRps)).toEqual([25, 0]);
    expect(Array.from(s.okRps)).toEqual([75, 50]);
    const rps = slotsByName(timeCharts(s)).rps!;
    // drawn: total (errors on top), then ok
    expect((rps.spec as { data: ArrayLike<number>[] }).data[1]).toEqual(s.rps);
    expect((rps.spec as { data: ArrayLike<number>[] }).data[2]).toEqual(s.okRps);
  });

  it("derives errors from error_rate for points without counts (older reports)", () => {
    const s = shapeSeries([pt(1, { rps: 200, error_rate: 0.1 })]);
    expect(s.errRps[0]).toBeCloseTo(20);
    expect(s.okRps[0]).toBeCloseTo(180);
    expect(s.dropped).toBeNull();
    expect(s.bytesSent).toBeNull();
  });

  it("handles a run with errors only (no latency)", () => {
    const r = makeReport({ seconds: 5, errorsOnly: true });
    const s = shapeSeries(r.series!, r.steps!.length);
    expect(Array.from(s.okRps)).toEqual([0, 0, 0, 0, 0]);
    expect(Array.from(s.errRps)).toEqual(Array.from(s.rps));
    const slots = slotsByName(timeCharts(s));
    expect(slots.latency!.spec).toBeNull();
    expect(slots.rps!.spec).not.toBeNull();
    expect(s.errorClasses!.keys).toEqual(["refused"]);
    expect(s.statusCodes).toBeNull();
    const dist = slotsByName(distributionCharts(r));
    expect(dist.histogram!.spec).toBeNull();
    expect(dist.percentiles!.spec).toBeNull();
  });

  it("handles a single interval", () => {
    const r = makeReport({ seconds: 1, workers: 1, steps: 1 });
    const s = shapeSeries(r.series!, 1);
    expect(s.n).toBe(1);
    expect(s.dt[0]).toBeCloseTo(1);
    expect(s.steps!.length).toBe(1);
    expect(s.steps![0]!.rps[0]).toBe(r.series![0]!.steps![0]!.requests);
    const slots = timeCharts(s);
    expect(slots.every((x) => x.name && (x.spec || x.note))).toBe(true);
  });

  it("turns optional additions into columns with gaps, null when absent everywhere", () => {
    const s = shapeSeries([pt(1, { p90: 7 }), pt(2), pt(3, { p90: 8 })]);
    expect(s.p90).toEqual([7, null, 8]);
    expect(s.max).toBeNull();
    const all = shapeSeries([pt(1, { p90: 7 }), pt(2, { p90: 9 })]);
    expect(all.p90).toBeInstanceOf(Float64Array);
  });

  it("gives per-second byte and dropped rates over the interval width", () => {
    const s = shapeSeries([pt(1, { requests: 10, rps: 10, bytes_sent: 1000, dropped_iterations: 4 }), pt(3, { requests: 20, rps: 10, bytes_sent: 1000, dropped_iterations: 2 })]);
    expect(Array.from(s.bytesSent as Float64Array)).toEqual([1000, 500]);
    expect(Array.from(s.dropped as Float64Array)).toEqual([4, 1]);
  });
});

describe("per-worker VUs", () => {
  it("leaves gaps where a worker is absent", () => {
    const k = workerVus([pt(1, { vus_by_worker: { "local-1": 3 } }), pt(2, { vus_by_worker: { "local-1": 2, "local-2": 4 } }), pt(3, { vus_by_worker: { "local-2": 5 } }), pt(4, { vus_by_worker: null })])!;
    expect(k.keys).toEqual(["local-1", "local-2"]);
    expect(k.cols[0]).toEqual([3, 2, null, null]);
    expect(k.cols[1]).toEqual([null, 4, 5, null]);
  });
  it("is null without per-worker data, and orders IDs naturally", () => {
    expect(workerVus([pt(1)])).toBeNull();
    const k = workerVus([pt(1, { vus_by_worker: { "w-10": 1, "w-2": 1, "w-1": 1 } })])!;
    expect(k.keys).toEqual(["w-1", "w-2", "w-10"]);
  });
  it("caps the number of lines and sums the rest", () => {
    const m: Record<string, number> = {};
    for (let i = 0; i < MAX_WORKER_LINES + 6; i++) m[`w-${i}`] = 1;
    const k = workerVus([pt(1, { vus_by_worker: m })])!;
    expect(k.keys.length).toBe(MAX_WORKER_LINES + 1);
    expect(k.keys[k.keys.length - 1]).toBe("other workers");
    expect(k.cols[k.cols.length - 1]).toEqual([6]);
  });
});

describe("status codes and error classes", () => {
  it("makes one per-second series per key, 0 where a point has none", () => {
    const pts = [pt(1, { requests: 10, rps: 10, status_codes: { "200": 8, "503": 2 } }), pt(2, { requests: 10, rps: 10 }), pt(4, { requests: 10, rps: 5, status_codes: { "404": 4, "200": 6 } })];
    const s = shapeSeries(pts);
    const k = s.statusCodes!;
    expect(k.keys).toEqual(["200", "404", "503"]);
    expect(Array.from(k.cols[0]!)).toEqual([8, 0, 3]);
    expect(Array.from(k.cols[1]!)).toEqual([0, 0, 2]);
    expect(Array.from(k.cols[2]!)).toEqual([2, 0, 0]);
    expect(s.errorClasses).toBeNull();
  });
  it("error classes", () => {
    const k = keyedRates([pt(1, { errors_by_class: { timeout: 3 } }), pt(2, { errors_by_class: { refused: 1, timeout: 1 } })], (p) => p.errors_by_class, new Float64Array([1, 1]))!;
    expect(k.keys).toEqual(["refused", "timeout"]);
    expect(Array.from(k.cols[1]!)).toEqual([3, 1]);
  });
});

describe("per-step rates", () => {
  it("divides step counts by the interval width", () => {
    const s = shapeSeries(
      [
        pt(1, { requests: 30, rps: 30, steps: [{ requests: 20, errors: 1, p50: 1, p95: 2, p99: 3 }, { requests: 10, errors: 0, p50: 4, p95: 5, p99: 6 }] }),
        pt(3, { requests: 30, rps: 15, steps: [{ requests: 20, errors: 2, p50: 1, p95: 2, p99: 3 }] }),
      ],
      2,
    );
    expect(s.steps!.length).toBe(2);
    expect(Array.from(s.steps![0]!.rps)).toEqual([20, 10]);
    expect(Array.from(s.steps![0]!.errRps)).toEqual([1, 1]);
    expect(Array.from(s.steps![1]!.rps)).toEqual([10, 0]);
    expect(Array.from(s.steps![1]!.p95)).toEqual([5, 0]);
    const charts = stepCharts(s, ["a", "b"]);
    expect(charts.map((c) => c.name)).toEqual(["step-0", "step-1"]);
    expect(charts[1]!.title).toBe("b");
  });
  it("has no step charts without step data", () => {
    expect(stepCharts(shapeSeries([pt(1)], 3), ["a"])).toEqual([]);
  });
});

describe("histogram", () => {
  it("draws one bar per bucket at even positions", () => {
    const b = histogramBars([
      { le_ms: 1, count: 3 },
      { le_ms: 2, count: 0 },
      { le_ms: 5, count: 7 },
      { le_ms: 2000, count: 1 },
    ])!;
    expect(Array.from(b.x)).toEqual([0, 1, 2, 3]);
    expect(Array.from(b.counts)).toEqual([3, 0, 7, 1]);
    expect(b.labels).toEqual(["≤ 1 ms", "≤ 2 ms", "≤ 5 ms", "≤ 2 s"]);
  });
  it("is null when empty", () => {
    expect(histogramBars([])).toBeNull();
    expect(histogramBars(undefined)).toBeNull();
    expect(histogramBars([{ le_ms: 1, count: 0 }])).toBeNull();
  });
});

describe("percentile nines axis", () => {
  it("maps percentiles to nines", () => {
    expect(ninesX(0)).toBe(0);
    expect(ninesX(90)).toBeCloseTo(1);
    expect(ninesX(99)).toBeCloseTo(2);
    expect(ninesX(99.9)).toBeCloseTo(3);
    expect(ninesX(99.99)).toBeCloseTo(4);
    expect(ninesX(100)).toBe(MAX_NINES);
  });
  it("labels ticks", () => {
    expect([0, 1, 2, 3, 4, 5].map(ninesLabel)).toEqual(["0%", "90%", "99%", "99.9%", "99.99%", "99.999%"]);
    expect(ninesTicks(3.2)).toEqual([0, 1, 2, 3, 4]);
    expect(ninesTicks(0.5)).toEqual([0, 1]);
  });
  it("builds an ascending curve, merging equal positions", () => {
    const c = percentileCurve([
      { percentile: 50, ms: 10 },
      { percentile: 0, ms: 1 },
      { percentile: 100, ms: 90 },
      { percentile: 99.99999, ms: 80 },
    ])!;
    expect(c.fromSummary).toBe(false);
    expect(Array.from(c.ms)).toEqual([1, 10, 90]);
    for (let i = 1; i < c.x.length; i++) expect(c.x[i]!).toBeGreaterThan(c.x[i - 1]!);
  });
  it("falls back to the summary percentiles, and is null without requests", () => {
    const c = percentileCurve(undefined, { min: 1, p50: 2, p90: 3, p95: 4, p99: 5, p999: 6 }, 10)!;
    expect(c.fromSummary).toBe(true);
    expect(c.x.length).toBe(6);
    expect(percentileCurve([], { p50: 0 }, 0)).toBeNull();
  });
});

describe("overlays", () => {
  it("joins two series on the union of their times", () => {
    const j = joinOnT([1, 2, 3], [[10, 20, 30]], [1, 2.5, 3], [[1, 2, 3]]);
    expect(Array.from(j.t)).toEqual([1, 2, 2.5, 3]);
    expect(j.a[0]).toEqual([10, 20, null, 30]);
    expect(j.b[0]).toEqual([1, null, 2, 3]);
  });
  it("builds base vs head charts", () => {
    const base = makeReport({ seconds: 10, seed: 1 });
    const head = makeReport({ seconds: 12, seed: 2, slower: 1.3 });
    const slots = overlayCharts(shapeSeries(base.series!), shapeSeries(head.series!));
    expect(slots.map((s) => s.name)).toEqual(["rps", "latency", "error_rate", "vus"]);
    const data = (slots[0]!.spec as { data: ArrayLike<number | null>[] }).data;
    expect(data[0]!.length).toBe(12);
    expect(data[1]![11]).toBeNull();
  });
});

describe("a one-hour run", () => {
  it("shapes 3600 points × 20 workers × 10 steps into bounded columns", () => {
    const r: Report = makeReport({ seconds: 3600, workers: 20, steps: 10 });
    const t0 = performance.now();
    const s = shapeSeries(r.series!, r.steps!.length);
    const slots = [...timeCharts(s), ...distributionCharts(r), ...stepCharts(s, r.steps!.map((x) => x.name))];
    const ms = performance.now() - t0;
    // Timing is reported, not asserted (machines differ).
    console.log(`shaped 1 h × 20 workers × 10 steps in ${ms.toFixed(1)} ms`);
    expect(s.n).toBe(3600);
    expect(s.vusByWorker!.keys.length).toBe(20);
    expect(s.vusByWorker!.cols.every((c) => c.length === 3600)).toBe(true);
    expect(s.steps!.length).toBe(10);
    expect(slots.filter((x) => x.spec).length).toBe(9 + 2 + 10 - 1); // no dropped iterations
    const vus = slots.find((x) => x.name === "vus")!.spec!;
    expect(vus.series.length).toBe(2 + 20);
    expect(hasData(s.p95)).toBe(true);
    // a lost worker leaves a gap
    const last = s.vusByWorker!.cols[19]!;
    expect(last.some((v) => v === null)).toBe(true);
  });

  it("stays bounded when streamed live into a small buffer", () => {
    const r: Report = makeReport({ seconds: 3600, workers: 20, steps: 10 });
    const store = new PointStore(1000);
    r.series!.forEach((p, i) => store.add({ ...p, interval: i }));
    expect(store.length).toBeLessThanOrEqual(1000);
    const s = shapeSeries(store.points, 10);
    expect(s.n).toBe(store.length);
    expect(s.vusByWorker!.keys.length).toBe(20);
    expect(s.t[s.n - 1]).toBe(3600);
    // merged points keep every request counted
    const total = store.points.reduce((a, p) => a + (p.requests ?? 0), 0);
    expect(total).toBe(r.series!.reduce((a, p) => a + (p.requests ?? 0), 0));
  });
});

describe("decimate", () => {
  const pts = (n: number): SeriesPoint[] =>
    Array.from({ length: n }, (_, i) => ({ t: i + 1, rps: 10, error_rate: 0.1, p50: 1, p95: i % 7, p99: 3, vus: i, workers: 2, requests: 10, errors: 1, status_codes: { "200": 9, "503": 1 }, vus_by_worker: { w1: i } }));
  it("leaves a short series as it is", () => {
    const s = shapeSeries(pts(100));
    expect(decimate(s, 1200)).toBe(s);
  });
  it("draws a 1-hour series in at most max points: rates averaged, the worst latency, the last gauges", () => {
    const d = decimate(shapeSeries(pts(3600)), 1200);
    expect(d.n).toBe(1200);
    expect(d.t[0]).toBe(3);
    expect(d.dt[0]).toBe(3);
    expect(d.rps[0]).toBeCloseTo(10);
    expect(d.errRps[0]).toBeCloseTo(1);
    expect(d.errorRate[5]).toBeCloseTo(0.1);
    expect(d.vus[0]).toBe(2);
    expect(d.vusByWorker!.cols[0]![0]).toBe(2);
    expect(Math.max(...d.p95)).toBe(6);
    expect(d.statusCodes!.cols[d.statusCodes!.keys.indexOf("503")]![7]).toBeCloseTo(1);
  });
  it("ends its groups at the newest interval, so the newest is a whole group", () => {
    const d = decimate(shapeSeries(pts(3602)), 1200); // k = 4: the first group takes the 2 left over
    expect(d.n).toBe(901);
    expect(d.dt[0]).toBe(2);
    expect(d.dt[d.n - 1]).toBe(4);
    expect(d.t[d.n - 1]).toBe(3602);
    let requests = 0;
    for (let g = 0; g < d.n; g++) requests += d.rps[g]! * d.dt[g]!;
    expect(requests).toBeCloseTo(36020);
  });
});
