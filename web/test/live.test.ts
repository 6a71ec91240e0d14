import { describe, expect, it } from "vitest";
import { PointStore, mergePoints } from "../src/live";
import { shapeSeries } from "../src/shape";
import type { LivePoint } from "../src/types";

const lp = (interval: number, extra: Partial<LivePoint> = {}): LivePoint => ({
  interval,
  t: interval + 1,
  rps: 10,
  error_rate: 0.1,
  p50: 5,
  p95: 9,
  p99: 12,
  vus: 2,
  workers: 1,
  requests: 10,
  errors: 1,
  revision: 1,
  revised: false,
  ...extra,
});

describe("PointStore", () => {
  it("appends in order and replaces a revised interval", () => {
    const s = new PointStore();
    s.add(lp(0));
    s.add(lp(1));
    s.add(lp(2));
    s.add(lp(1, { rps: 99, requests: 99, revision: 2, revised: true }));
    expect(s.length).toBe(3);
    expect(s.points.map((p) => p.rps)).toEqual([10, 99, 10]);
  });

  it("keeps the last value sent for an interval (a reconnect resends)", () => {
    const s = new PointStore();
    for (let i = 0; i < 5; i++) s.add(lp(i));
    for (let i = 0; i < 5; i++) s.add(lp(i, { p95: 20 + i }));
    expect(s.length).toBe(5);
    expect(s.points.map((p) => p.p95)).toEqual([20, 21, 22, 23, 24]);
  });

  it("inserts a late interval in order", () => {
    const s = new PointStore();
    s.add(lp(0));
    s.add(lp(2));
    s.add(lp(1));
    expect(s.points.map((p) => p.t)).toEqual([1, 2, 3]);
    s.add(lp(1, { rps: 50, revised: true }));
    expect(s.points[1]!.rps).toBe(50);
  });

  it("stays bounded: the older half is merged 2:1 when full", () => {
    const cap = 100;
    const s = new PointStore(cap);
    for (let i = 0; i < 10_000; i++) {
      s.add(lp(i, { vus_by_worker: { a: 1, b: 2 } }));
      expect(s.length).toBeLessThanOrEqual(cap);
    }
    const pts = s.points;
    for (let i = 1; i < pts.length; i++) expect(pts[i]!.t).toBeGreaterThan(pts[i - 1]!.t);
    // the most recent intervals are still one second each
    expect(pts[pts.length - 1]!.t).toBe(10_000);
    expect(pts[pts.length - 2]!.t).toBe(9_999);
    // nothing counted is lost by merging
    const total = pts.reduce((a, p) => a + (p.requests ?? 0), 0);
    expect(total).toBe(10 * 10_000);
    // per-second rates of merged points stay right
    const shaped = shapeSeries(pts.slice(1));
    for (let i = 0; i < shaped.n; i++) expect(shaped.errRps[i]).toBeCloseTo(1, 6);
  });

  it("ignores a revision of an interval already merged away", () => {
    const s = new PointStore(8);
    for (let i = 0; i < 9; i++) s.add(lp(i));
    const before = s.points.map((p) => ({ ...p }));
    s.add(lp(0, { rps: 1000, revised: true }));
    expect(s.lostRevisions).toBe(1);
    expect(s.points.map((p) => p.rps)).toEqual(before.map((p) => p.rps));
  });

  it("holds 7200 points at most by default over a long run", () => {
    const s = new PointStore();
    for (let i = 0; i < 20_000; i++) s.add(lp(i));
    expect(s.length).toBeLessThanOrEqual(7200);
    expect(s.length).toBeGreaterThan(3600);
  });
});

describe("mergePoints", () => {
  it("adds counts, keeps the worse percentile and the later gauges", () => {
    const m = mergePoints(
      lp(0, { rps: 10, requests: 10, errors: 1, p99: 30, max: 50, vus: 3, status_codes: { "200": 9, "500": 1 }, steps: [{ requests: 10, errors: 1, p50: 1, p95: 2, p99: 3 }], bytes_sent: 100 }),
      lp(1, { rps: 20, requests: 20, errors: 0, p99: 20, vus: 4, status_codes: { "200": 20 }, steps: [{ requests: 20, errors: 0, p50: 2, p95: 1, p99: 1 }] }),
    );
    expect(m.t).toBe(2);
    expect(m.merged).toBe(2);
    expect(m.requests).toBe(30);
    expect(m.errors).toBe(1);
    expect(m.rps).toBe(15);
    expect(m.error_rate).toBeCloseTo(1 / 30);
    expect(m.p99).toBe(30);
    expect(m.max).toBe(50);
    expect(m.vus).toBe(4);
    expect(m.status_codes).toEqual({ "200": 29, "500": 1 });
    expect(m.steps![0]).toEqual({ requests: 30, errors: 1, p50: 2, p95: 2, p99: 3 });
    expect(m.bytes_sent).toBe(100);
    expect("bytes_received" in m).toBe(false);
    expect("iterations" in m).toBe(false);
  });
  it("adds iterations, one side's when the other has none", () => {
    expect(mergePoints(lp(0, { iterations: 4 }), lp(1, { iterations: 5 })).iterations).toBe(9);
    expect(mergePoints(lp(0), lp(1, { iterations: 5 })).iterations).toBe(5);
  });
});
