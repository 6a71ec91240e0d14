// Data shaping: report series / live points → flat columns that charts draw.
// Pure (no DOM), so unit tests run it directly. Columns are typed arrays
// when every point has the value; optional additions become plain arrays
// with null for gaps (uPlot draws null as a gap), or null when no point has
// them at all (the chart is hidden and says so).

import type { HistogramBucket, Latency, PercentilePoint, SeriesPoint, StepPoint } from "./types";

export type Column = Float64Array | (number | null)[];

/** Series keyed by a name (worker ID, status code, error class). */
export interface Keyed {
  keys: string[];
  cols: Column[];
}

export interface StepCols {
  rps: Float64Array;
  errRps: Float64Array;
  p50: Float64Array;
  p95: Float64Array;
  p99: Float64Array;
}

export interface Shaped {
  n: number;
  t: Float64Array;
  /** interval width in seconds, for per-second rates */
  dt: Float64Array;
  rps: Float64Array;
  okRps: Float64Array;
  errRps: Float64Array;
  errorRate: Float64Array;
  p50: Float64Array;
  p95: Float64Array;
  p99: Float64Array;
  p90: Column | null;
  max: Column | null;
  vus: Float64Array;
  workers: Float64Array;
  targetVus: Column | null;
  vusByWorker: Keyed | null;
  dropped: Column | null;
  bytesSent: Column | null;
  bytesReceived: Column | null;
  statusCodes: Keyed | null;
  errorClasses: Keyed | null;
  steps: StepCols[] | null;
}

/** Per-worker lines beyond this are summed into one "other workers" line. */
export const MAX_WORKER_LINES = 64;

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

/**
 * Interval widths: t[i] − t[i−1]; the first point has no previous one, so its
 * own requests / rps gives its width (1 s when that cannot be told).
 */
export function intervalWidths(points: readonly SeriesPoint[]): Float64Array {
  const n = points.length;
  const dt = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let w = 0;
    if (i > 0) {
      w = points[i]!.t - points[i - 1]!.t;
    } else {
      const p = points[0]!;
      const req = num(p.requests);
      if (req > 0 && num(p.rps) > 0) w = req / p.rps;
    }
    dt[i] = w > 0 && Number.isFinite(w) ? w : 1;
  }
  // The run's last interval may be a sliver (iterations in flight finishing
  // within milliseconds after the end): report.json gives it its own rate,
  // but a chart counts it over a whole interval, so that a few requests do
  // not draw a spike of thousands per second.
  if (n >= 3) {
    const widths = Array.from(dt.subarray(1)).sort((a, b) => a - b);
    const nominal = widths[widths.length >> 1]!;
    if (dt[n - 1]! < nominal / 2) dt[n - 1] = nominal;
  }
  return dt;
}

/** Requests in an interval: the point's count, else rps × width. */
function requestsOf(p: SeriesPoint, dt: number): number {
  return p.requests != null ? num(p.requests) : num(p.rps) * dt;
}

function errorsOf(p: SeriesPoint, dt: number): number {
  return p.errors != null ? num(p.errors) : num(p.error_rate) * requestsOf(p, dt);
}

/** An optional numeric field as a column; null when no point has it. */
function optCol(points: readonly SeriesPoint[], get: (p: SeriesPoint) => number | undefined, dt?: Float64Array): Column | null {
  const n = points.length;
  let any = false;
  let all = true;
  for (let i = 0; i < n; i++) {
    const v = get(points[i]!);
    if (typeof v === "number" && Number.isFinite(v)) any = true;
    else all = false;
  }
  if (!any) return null;
  if (all) {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = (get(points[i]!) as number) / (dt ? dt[i]! : 1);
    return out;
  }
  const out: (number | null)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const v = get(points[i]!);
    out[i] = typeof v === "number" && Number.isFinite(v) ? v / (dt ? dt[i]! : 1) : null;
  }
  return out;
}

function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true });
}

/**
 * Maps of counts per interval (status codes, error classes) → one per-second
 * column per key. A point without the map had none: 0. Null when no point
 * has the map at all.
 */
export function keyedRates(points: readonly SeriesPoint[], get: (p: SeriesPoint) => Record<string, number> | undefined | null, dt: Float64Array): Keyed | null {
  const index = new Map<string, number>();
  let any = false;
  for (const p of points) {
    const m = get(p);
    if (!m) continue;
    any = true;
    for (const k in m) if (!index.has(k)) index.set(k, index.size);
  }
  if (!any) return null;
  const keys = [...index.keys()].sort(naturalCompare);
  const n = points.length;
  const cols = keys.map(() => new Float64Array(n));
  const order = new Map(keys.map((k, i) => [k, i]));
  for (let i = 0; i < n; i++) {
    const m = get(points[i]!);
    if (!m) continue;
    for (const k in m) cols[order.get(k)!]![i] = num(m[k]) / dt[i]!;
  }
  return { keys, cols };
}

/**
 * VUs per worker: a worker absent from an interval (not started yet, lost,
 * gone) is a gap (null), not 0. At most MAX_WORKER_LINES lines; the rest
 * are summed into "other workers".
 */
export function workerVus(points: readonly SeriesPoint[]): Keyed | null {
  const seen = new Set<string>();
  let any = false;
  for (const p of points) {
    const m = p.vus_by_worker;
    if (!m) continue;
    for (const k in m) {
      any = true;
      seen.add(k);
    }
  }
  if (!any) return null;
  const all = [...seen].sort(naturalCompare);
  const keys = all.slice(0, MAX_WORKER_LINES);
  const overflow = all.length > MAX_WORKER_LINES;
  const order = new Map(keys.map((k, i) => [k, i]));
  const n = points.length;
  const cols: (number | null)[][] = keys.map(() => new Array<number | null>(n).fill(null));
  const other: (number | null)[] | null = overflow ? new Array<number | null>(n).fill(null) : null;
  for (let i = 0; i < n; i++) {
    const m = points[i]!.vus_by_worker;
    if (!m) continue;
    for (const k in m) {
      const j = order.get(k);
      if (j !== undefined) cols[j]![i] = num(m[k]);
      else if (other) other[i] = (other[i] ?? 0) + num(m[k]);
    }
  }
  if (other) {
    keys.push("other workers");
    cols.push(other);
  }
  return { keys, cols };
}

/** Per-step columns, aligned with report.steps; null when no point has steps. */
export function stepColumns(points: readonly SeriesPoint[], stepCount: number, dt: Float64Array): StepCols[] | null {
  let count = stepCount;
  let any = false;
  for (const p of points) {
    if (p.steps && p.steps.length) {
      any = true;
      if (p.steps.length > count) count = p.steps.length;
    }
  }
  if (!any) return null;
  const n = points.length;
  const out: StepCols[] = [];
  for (let s = 0; s < count; s++) {
    out.push({ rps: new Float64Array(n), errRps: new Float64Array(n), p50: new Float64Array(n), p95: new Float64Array(n), p99: new Float64Array(n) });
  }
  for (let i = 0; i < n; i++) {
    const steps = points[i]!.steps;
    if (!steps) continue;
    const w = dt[i]!;
    for (let s = 0; s < steps.length; s++) {
      const sp: StepPoint | undefined = steps[s];
      if (!sp) continue;
      const c = out[s]!;
      c.rps[i] = num(sp.requests) / w;
      c.errRps[i] = num(sp.errors) / w;
      c.p50[i] = num(sp.p50);
      c.p95[i] = num(sp.p95);
      c.p99[i] = num(sp.p99);
    }
  }
  return out;
}

/** Shapes a series (report.series or the live points) for every chart. */
export function shapeSeries(points: readonly SeriesPoint[], stepCount = 0): Shaped {
  const n = points.length;
  const dt = intervalWidths(points);
  const t = new Float64Array(n);
  const rps = new Float64Array(n);
  const okRps = new Float64Array(n);
  const errRps = new Float64Array(n);
  const errorRate = new Float64Array(n);
  const p50 = new Float64Array(n);
  const p95 = new Float64Array(n);
  const p99 = new Float64Array(n);
  const vus = new Float64Array(n);
  const workers = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = points[i]!;
    const w = dt[i]!;
    t[i] = p.t;
    const req = requestsOf(p, w);
    const r = p.requests != null ? req / w : num(p.rps);
    rps[i] = r;
    const err = errorsOf(p, w);
    const e = req > 0 ? Math.min(r, (err / req) * r) : 0;
    errRps[i] = e;
    okRps[i] = r - e;
    errorRate[i] = num(p.error_rate);
    p50[i] = num(p.p50);
    p95[i] = num(p.p95);
    p99[i] = num(p.p99);
    vus[i] = num(p.vus);
    workers[i] = num(p.workers);
  }
  return {
    n,
    t,
    dt,
    rps,
    okRps,
    errRps,
    errorRate,
    p50,
    p95,
    p99,
    p90: optCol(points, (p) => p.p90),
    max: optCol(points, (p) => p.max),
    vus,
    workers,
    targetVus: optCol(points, (p) => p.target_vus),
    vusByWorker: workerVus(points),
    dropped: optCol(points, (p) => p.dropped_iterations, dt),
    bytesSent: optCol(points, (p) => p.bytes_sent, dt),
    bytesReceived: optCol(points, (p) => p.bytes_received, dt),
    statusCodes: keyedRates(points, (p) => p.status_codes, dt),
    errorClasses: keyedRates(points, (p) => p.errors_by_class, dt),
    steps: stepColumns(points, stepCount, dt),
  };
}

// ------------------------------------------------------------- decimation

/** How many points a time chart draws at most; longer series are merged. */
export const DISPLAY_MAX = 1200;

type Agg = "rate" | "max" | "last";

/**
 * The shaped series as a chart draws it: at most `max` points, consecutive
 * intervals merged k at a time when there are more. Rates are averaged over
 * the merged time, latencies keep the worst, gauges (VUs, workers) the
 * latest. Groups end at the newest interval, so that it is a whole group.
 * A 1-hour run at 1 s is drawn at 3 s: a canvas has no more pixels than
 * that. It works on the columns (typed arrays), so it costs a few ms.
 */
export function decimate(s: Shaped, max = DISPLAY_MAX): Shaped {
  const n = s.n;
  if (n <= max) return s;
  const k = Math.ceil(n / max);
  const starts: number[] = [];
  for (let i = n % k === 0 ? 0 : -(k - (n % k)); i < n; i += k) starts.push(Math.max(i, 0));
  const m = starts.length;
  const end = (g: number) => (g + 1 < m ? starts[g + 1]! : n);
  const dt = new Float64Array(m);
  const t = new Float64Array(m);
  for (let g = 0; g < m; g++) {
    let w = 0;
    for (let i = starts[g]!; i < end(g); i++) w += s.dt[i]!;
    dt[g] = w;
    t[g] = s.t[end(g) - 1]!;
  }
  function col(c: Float64Array, how: Agg): Float64Array;
  function col(c: Column, how: Agg): Column;
  function col(c: Column, how: Agg): Column {
    const typed = c instanceof Float64Array;
    const out: Column = typed ? new Float64Array(m) : new Array<number | null>(m);
    for (let g = 0; g < m; g++) {
      const a = starts[g]!;
      const b = end(g);
      let v: number | null = null;
      if (how === "last") {
        v = c[b - 1] ?? null;
      } else if (how === "max") {
        for (let i = a; i < b; i++) {
          const x = c[i];
          if (x != null && (v == null || x > v)) v = x;
        }
      } else {
        let sum = 0;
        let w = 0;
        for (let i = a; i < b; i++) {
          const x = c[i];
          if (x == null) continue;
          sum += x * s.dt[i]!;
          w += s.dt[i]!;
        }
        v = w > 0 ? sum / w : null;
      }
      out[g] = typed ? (v ?? 0) : v;
    }
    return out;
  }
  const opt = (c: Column | null, how: Agg) => (c ? col(c, how) : null);
  const keyed = (kc: Keyed | null, how: Agg): Keyed | null => (kc ? { keys: kc.keys, cols: kc.cols.map((c) => col(c, how)) } : null);
  const rps = col(s.rps, "rate");
  const errRps = col(s.errRps, "rate");
  const errorRate = new Float64Array(m);
  for (let g = 0; g < m; g++) errorRate[g] = rps[g]! > 0 ? errRps[g]! / rps[g]! : 0;
  return {
    n: m,
    t,
    dt,
    rps,
    okRps: col(s.okRps, "rate"),
    errRps,
    errorRate,
    p50: col(s.p50, "max"),
    p95: col(s.p95, "max"),
    p99: col(s.p99, "max"),
    p90: opt(s.p90, "max"),
    max: opt(s.max, "max"),
    vus: col(s.vus, "last"),
    workers: col(s.workers, "last"),
    targetVus: opt(s.targetVus, "last"),
    vusByWorker: keyed(s.vusByWorker, "last"),
    dropped: opt(s.dropped, "rate"),
    bytesSent: opt(s.bytesSent, "rate"),
    bytesReceived: opt(s.bytesReceived, "rate"),
    statusCodes: keyed(s.statusCodes, "rate"),
    errorClasses: keyed(s.errorClasses, "rate"),
    steps: s.steps ? s.steps.map((st) => ({ rps: col(st.rps, "rate"), errRps: col(st.errRps, "rate"), p50: col(st.p50, "max"), p95: col(st.p95, "max"), p99: col(st.p99, "max") })) : null,
  };
}

/** Whether a column holds anything but zeros and gaps. */
export function hasData(col: Column | null | undefined): boolean {
  if (!col) return false;
  for (let i = 0; i < col.length; i++) {
    const v = col[i];
    if (v != null && v !== 0) return true;
  }
  return false;
}

// ---------------------------------------------------------------- histogram

export interface Bars {
  x: Float64Array;
  counts: Float64Array;
  /** the bucket's upper bound, ms */
  le: Float64Array;
  labels: string[];
}

function boundLabel(ms: number): string {
  if (ms >= 1000) return `${+(ms / 1000).toPrecision(3)} s`;
  return `${+ms.toPrecision(3)} ms`;
}

/**
 * The latency histogram as bars at evenly spaced positions: its 1-2-5 bucket
 * bounds are evenly spaced on a log scale, so bar i stands for bucket i.
 * Null when there is nothing to draw.
 */
export function histogramBars(hist: readonly HistogramBucket[] | undefined | null): Bars | null {
  if (!hist || hist.length === 0) return null;
  let total = 0;
  for (const b of hist) total += num(b.count);
  if (total <= 0) return null;
  const n = hist.length;
  const x = new Float64Array(n);
  const counts = new Float64Array(n);
  const le = new Float64Array(n);
  const labels: string[] = [];
  for (let i = 0; i < n; i++) {
    x[i] = i;
    counts[i] = num(hist[i]!.count);
    le[i] = num(hist[i]!.le_ms);
    labels.push("≤ " + boundLabel(le[i]!));
  }
  return { x, counts, le, labels };
}

// ------------------------------------------------------------- percentiles

/** The most nines the percentile axis shows (p = 100 is drawn there). */
export const MAX_NINES = 6;

/** Percentile → "nines" position: −log10(1 − p/100); 90 → 1, 99 → 2, 99.9 → 3. */
export function ninesX(percentile: number): number {
  const rest = 1 - percentile / 100;
  if (!(rest > 10 ** -MAX_NINES)) return MAX_NINES;
  if (rest >= 1) return 0;
  return -Math.log10(rest);
}

/** Label of a nines tick: 0 → "0%", 1 → "90%", 2 → "99%", 3 → "99.9%". */
export function ninesLabel(x: number): string {
  const k = Math.round(x);
  if (k <= 0) return "0%";
  if (k === 1) return "90%";
  if (k === 2) return "99%";
  return "99." + "9".repeat(k - 2) + "%";
}

/** Whole-number nines ticks covering [0, maxX]. */
export function ninesTicks(maxX: number): number[] {
  const top = Math.max(1, Math.min(MAX_NINES, Math.ceil(maxX - 1e-9)));
  const out: number[] = [];
  for (let k = 0; k <= top; k++) out.push(k);
  return out;
}

export interface Curve {
  x: Float64Array;
  ms: Float64Array;
  /** true when drawn from the summary percentiles (older reports) */
  fromSummary: boolean;
}

/**
 * The percentile distribution on the nines axis, ascending in x (points of
 * equal x keep the largest latency). Falls back to latency_ms's percentiles
 * when the report has no distribution. Null without data.
 */
export function percentileCurve(pcts: readonly PercentilePoint[] | undefined | null, latency?: Partial<Latency> | null, requests?: number): Curve | null {
  let src: { p: number; ms: number }[] = [];
  let fromSummary = false;
  if (pcts && pcts.length) {
    src = pcts.filter((q) => Number.isFinite(q.percentile) && Number.isFinite(q.ms)).map((q) => ({ p: q.percentile, ms: q.ms }));
  } else if (latency && (requests ?? 0) > 0) {
    fromSummary = true;
    const pairs: [number, number | undefined][] = [
      [0, latency.min],
      [50, latency.p50],
      [90, latency.p90],
      [95, latency.p95],
      [99, latency.p99],
      [99.9, latency.p999],
    ];
    src = pairs.filter((q): q is [number, number] => typeof q[1] === "number").map(([p, ms]) => ({ p, ms }));
  }
  if (src.length === 0 || src.every((q) => q.ms === 0)) return null;
  src.sort((a, b) => a.p - b.p);
  const xs: number[] = [];
  const ys: number[] = [];
  for (const q of src) {
    const x = ninesX(q.p);
    if (xs.length && Math.abs(xs[xs.length - 1]! - x) < 1e-12) {
      ys[ys.length - 1] = Math.max(ys[ys.length - 1]!, q.ms);
    } else {
      xs.push(x);
      ys.push(q.ms);
    }
  }
  return { x: Float64Array.from(xs), ms: Float64Array.from(ys), fromSummary };
}

// ------------------------------------------------------------- overlays

/**
 * Aligns two time series on the union of their times (both ascending), for
 * base-vs-head overlays: each column of a gets null where only b has a point,
 * and the other way round.
 */
export function joinOnT(ta: ArrayLike<number>, colsA: readonly ArrayLike<number | null>[], tb: ArrayLike<number>, colsB: readonly ArrayLike<number | null>[]): { t: Float64Array; a: (number | null)[][]; b: (number | null)[][] } {
  const t: number[] = [];
  const a: (number | null)[][] = colsA.map(() => []);
  const b: (number | null)[][] = colsB.map(() => []);
  let i = 0;
  let j = 0;
  const eps = 1e-6;
  while (i < ta.length || j < tb.length) {
    const x = i < ta.length ? ta[i]! : Infinity;
    const y = j < tb.length ? tb[j]! : Infinity;
    const takeA = x <= y + eps;
    const takeB = y <= x + eps;
    t.push(takeA ? x : y);
    colsA.forEach((c, k) => a[k]!.push(takeA ? (c[i] ?? null) : null));
    colsB.forEach((c, k) => b[k]!.push(takeB ? (c[j] ?? null) : null));
    if (takeA) i++;
    if (takeB) j++;
  }
  return { t: Float64Array.from(t), a, b };
}
