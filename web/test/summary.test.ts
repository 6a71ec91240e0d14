import { describe, expect, it } from "vitest";
import { fmtDuration, fmtMs, fmtNum, fmtPct, fmtT, fmtUnit, thresholdUnit } from "../src/format";
import { deltaState, flowRows, gapSentence, liveStepRows, liveTotals, sortRows, stepRows, thresholdVerdict } from "../src/summary";
import { thresholdScope } from "../src/tables";
import type { Report, SeriesPoint } from "../src/types";
import { makeReport } from "./gen-report.mjs";

describe("thresholdVerdict", () => {
  it("passes, fails, or has none; an unevaluated baseline threshold does not fail", () => {
    expect(thresholdVerdict([])).toEqual({ state: "none", failed: 0, total: 0 });
    expect(thresholdVerdict(undefined).state).toBe("none");
    const ths = [
      { expression: "p95 < 300ms", step: "", passed: true, actual: 1 },
      { expression: "p95 < baseline * 1.1", step: "", passed: false, actual: 1, no_baseline: true },
    ];
    expect(thresholdVerdict(ths).state).toBe("passed");
    expect(thresholdVerdict([...ths, { expression: "error_rate < 1%", step: "", passed: false, actual: 0.2 }])).toEqual({ state: "failed", failed: 1, total: 3 });
  });
});

describe("gapSentence", () => {
  it("says what was not measured", () => {
    expect(gapSentence({ worker: "w-2", shard: 1, from_t: 10, to_t: 13.5, estimated_requests: 1234, reason: "lost" })).toBe("≈1,234 requests by w-2 in its last 3.5 s were not measured");
  });
});

describe("liveTotals", () => {
  it("is zero for no points", () => {
    const t = liveTotals([]);
    expect(t.requests).toBe(0);
    expect(t.errorRate).toBe(0);
    expect(t.last).toBeNull();
  });
  it("sums counts and takes the latest rate", () => {
    const pts: SeriesPoint[] = [
      { t: 1, rps: 10, error_rate: 0, p50: 1, p95: 1, p99: 1, vus: 1, workers: 1, requests: 10, errors: 0, bytes_sent: 5 },
      { t: 2, rps: 30, error_rate: 0.1, p50: 1, p95: 1, p99: 1, vus: 1, workers: 1, requests: 30, errors: 3, bytes_sent: 7 },
    ];
    const t = liveTotals(pts);
    expect(t.requests).toBe(40);
    expect(t.errors).toBe(3);
    expect(t.errorRate).toBeCloseTo(0.075);
    expect(t.rps).toBe(30);
    expect(t.bytesSent).toBe(12);
    expect(t.iterations).toBeNull();
    expect(t.iterationsRate).toBeNull();
  });
  it("sums iterations, the rate that of the latest interval", () => {
    const pt = (t: number, iterations: number): SeriesPoint => ({ t, rps: 10, error_rate: 0, p50: 1, p95: 1, p99: 1, vus: 1, workers: 1, requests: 10, errors: 0, iterations });
    const t = liveTotals([pt(1, 4), pt(2, 6), pt(2.5, 3)]);
    expect(t.iterations).toBe(13);
    expect(t.iterationsRate).toBeCloseTo(6); // 3 in the last half second
  });
});

describe("step rows", () => {
  it("finished: from the report's steps, rps over the duration", () => {
    const r = makeReport({ seconds: 10, steps: 2 });
    const rows = stepRows(r, 10);
    expect(rows.length).toBe(2);
    expect(rows[0]!.rps).toBeCloseTo(r.steps![0]!.requests / 10);
    expect(rows[0]!.p95).toBe(r.steps![0]!.latency_ms.p95);
  });
  it("live: counts summed over points, latency of the last interval", () => {
    const r = makeReport({ seconds: 5, steps: 2 });
    const rows = liveStepRows(r, r.series!);
    const sum = r.series!.reduce((a, p) => a + p.steps![1]!.requests, 0);
    expect(rows[1]!.requests).toBe(sum);
    expect(rows[1]!.p95).toBe(r.series![4]!.steps![1]!.p95);
    expect(rows[0]!.name).toBe("list items");
  });
  it("live without a report so far names steps by number", () => {
    const rows = liveStepRows(null, [{ t: 1, rps: 1, error_rate: 0, p50: 1, p95: 1, p99: 1, vus: 1, workers: 1, steps: [{ requests: 1, errors: 0, p50: 1, p95: 2, p99: 3 }] }]);
    expect(rows[0]!.name).toBe("step 1");
    expect(rows[0]!.rps).toBe(1);
  });
  it("sorts rows with nulls last", () => {
    const rows = [
      { a: 2, b: "x10" },
      { a: null, b: "x2" },
      { a: 1, b: "x1" },
    ];
    expect(sortRows(rows, "a", "ascending").map((r) => r.a)).toEqual([1, 2, null]);
    expect(sortRows(rows, "a", "descending").map((r) => r.a)).toEqual([2, 1, null]);
    expect(sortRows(rows, "b", "ascending").map((r) => r.b)).toEqual(["x1", "x2", "x10"]);
  });
});

describe("comparison", () => {
  it("classes a Δ as Go's reports.Compare marked it", () => {
    const d = { metric: "p95", unit: "ms", base: 100, head: 120, delta: 20, delta_pct: 20, better: false, worse: true };
    expect(deltaState(d)).toBe("worse");
    expect(deltaState({ ...d, worse: false, better: true })).toBe("better");
    expect(deltaState({ ...d, worse: false })).toBe("same");
  });
});

describe("format", () => {
  it("formats time since start", () => {
    expect(fmtT(0)).toBe("0:00");
    expect(fmtT(65)).toBe("1:05");
    expect(fmtT(3725)).toBe("1:02:05");
    expect(fmtT(-5)).toBe("-0:05");
  });
  it("formats values", () => {
    expect(fmtNum(12.345)).toBe("12.3");
    expect(fmtNum(0.0012345)).toBe("0.00123");
    expect(fmtNum(12345)).toBe("12,345");
    expect(fmtNum(200)).toBe("200");
    expect(fmtNum(10)).toBe("10");
    expect(fmtNum(2.5)).toBe("2.5");
    expect(fmtNum(-40)).toBe("-40");
    expect(fmtMs(1500)).toBe("1.5 s");
    expect(fmtMs(45.678)).toBe("45.7 ms");
    expect(fmtPct(0.004)).toBe("0.4 %");
    expect(fmtDuration(125)).toBe("2 min 5 s");
    expect(fmtUnit(0.01, "ratio")).toBe("1 %");
  });
  it("guesses threshold units", () => {
    expect(thresholdUnit("p95 < 300ms")).toBe("ms");
    expect(thresholdUnit("p97.5<1s")).toBe("ms");
    expect(thresholdUnit("error_rate < 1%")).toBe("ratio");
    expect(thresholdUnit("rps > 100")).toBe("1/s");
    expect(thresholdUnit("dropped_iterations == 0")).toBe("count");
  });
});

describe("flowRows", () => {
  const lat = { min: 1, mean: 2, p50: 2, p90: 3, p95: 4, p99: 5, p999: 6, max: 7 };
  const step = (flow: string, name: string, requests: number, errors: number) => ({ flow, name, method: "GET", url: "/", requests, errors, error_rate: errors / requests, latency_ms: lat, status_codes: {} });
  const report: Report = {
    run_id: "r",
    scenario_id: "s",
    status: "completed",
    steps: [step("browse", "home", 300, 3), step("checkout", "login", 50, 0), step("checkout", "pay", 50, 5)],
    flows: [
      { name: "browse", weight: 3, share: 0.75, steps: ["home"], requests: 300, errors: 3, error_rate: 0.01, rps: 30, latency_ms: lat, checks_passed: 0, checks_failed: 0, request_share: 0.75 },
      { name: "checkout", weight: 1, share: 0.25, steps: ["login", "pay"], requests: 100, errors: 5, error_rate: 0.05, rps: 10, latency_ms: { ...lat, p95: 40 }, checks_passed: 0, checks_failed: 0, request_share: 0.25 },
    ],
  };
  it("sums each flow's steps and takes its latency from the report", () => {
    const rows = flowRows(report, stepRows(report, 10));
    expect(rows.map((r) => [r.name, r.requests, r.errors, r.steps, r.p95])).toEqual([
      ["browse", 300, 3, 1, 4],
      ["checkout", 100, 5, 2, 40],
    ]);
    expect(rows[1]?.requestShare).toBe(0.25);
    expect(rows[1]?.errorRate).toBe(0.05);
    expect(rows[0]?.rps).toBe(30);
  });
  it("is empty without flows, and shows no stale latency while counts move", () => {
    expect(flowRows({ ...report, flows: undefined }, stepRows(report, 10))).toEqual([]);
    const live = stepRows(report, 10).map((r) => ({ ...r, requests: r.requests + 1 }));
    expect(flowRows(report, live)[0]?.p95).toBeNull();
  });
  it("names a threshold's scope", () => {
    expect(thresholdScope({ expression: "p95 < 1s", step: "", flow: "checkout", passed: true, actual: 1 })).toBe("flow checkout");
    expect(thresholdScope({ expression: "p95 < 1s", step: "pay", flow: "checkout", passed: true, actual: 1 })).toBe("flow checkout, step pay");
    expect(thresholdScope({ expression: "p95 < 1s", step: "", passed: true, actual: 1 })).toBe("whole run");
  });
});
