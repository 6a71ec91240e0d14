// The live view's bounded point buffer. Points arrive in interval order; a
// revised point replaces the one of the same interval. When the buffer holds
// `cap` points, its older half is merged 2:1, so memory stays bounded for
// runs of any length (older data gets coarser, recent data stays 1 s).

import type { LivePoint, SeriesPoint, StepPoint } from "./types";

export const DEFAULT_CAP = 7200;

/** A buffered point: `merged` ones stand for several intervals. */
export interface BufferedPoint extends LivePoint {
  merged?: number;
}

function sumOpt(a: number | undefined, b: number | undefined): number | undefined {
  if (a == null && b == null) return undefined;
  return (a ?? 0) + (b ?? 0);
}

function maxOpt(a: number | undefined, b: number | undefined): number | undefined {
  if (a == null) return b;
  if (b == null) return a;
  return Math.max(a, b);
}

function mergeMaps(a?: Record<string, number> | null, b?: Record<string, number> | null): Record<string, number> | undefined {
  if (!a && !b) return undefined;
  const out: Record<string, number> = { ...(a ?? {}) };
  if (b) for (const k in b) out[k] = (out[k] ?? 0) + (b[k] ?? 0);
  return out;
}

function mergeSteps(a?: StepPoint[], b?: StepPoint[]): StepPoint[] | undefined {
  if (!a && !b) return undefined;
  const n = Math.max(a?.length ?? 0, b?.length ?? 0);
  const out: StepPoint[] = [];
  for (let i = 0; i < n; i++) {
    const x = a?.[i];
    const y = b?.[i];
    out.push({
      requests: (x?.requests ?? 0) + (y?.requests ?? 0),
      errors: (x?.errors ?? 0) + (y?.errors ?? 0),
      p50: Math.max(x?.p50 ?? 0, y?.p50 ?? 0),
      p95: Math.max(x?.p95 ?? 0, y?.p95 ?? 0),
      p99: Math.max(x?.p99 ?? 0, y?.p99 ?? 0),
    });
  }
  return out;
}

/**
 * Merges two consecutive points into one that ends at b.t. Counts add up;
 * rates are averaged; percentiles cannot be merged exactly, so the merged
 * point keeps the worse (higher) of the two; gauges (VUs, workers) are b's.
 */
export function mergePoints(a: BufferedPoint, b: BufferedPoint): BufferedPoint {
  const wa = a.merged ?? 1;
  const wb = b.merged ?? 1;
  const reqA = a.requests;
  const reqB = b.requests;
  const requests = sumOpt(reqA, reqB);
  const errors = sumOpt(a.errors, b.errors);
  const out: BufferedPoint = {
    ...b,
    interval: b.interval,
    merged: wa + wb,
    rps: (a.rps * wa + b.rps * wb) / (wa + wb),
    error_rate: requests && errors != null ? errors / requests : (a.error_rate * wa + b.error_rate * wb) / (wa + wb),
    p50: Math.max(a.p50, b.p50),
    p95: Math.max(a.p95, b.p95),
    p99: Math.max(a.p99, b.p99),
  };
  // Only fields one of them has: a merged point has no undefined members
  // (deleting them instead would slow every later read of the object).
  const set = <K extends keyof BufferedPoint>(k: K, v: BufferedPoint[K] | undefined) => {
    if (v === undefined) delete out[k];
    else out[k] = v;
  };
  set("requests", requests);
  set("errors", errors);
  set("p90", maxOpt(a.p90, b.p90));
  set("max", maxOpt(a.max, b.max));
  set("dropped_iterations", sumOpt(a.dropped_iterations, b.dropped_iterations));
  set("iterations", sumOpt(a.iterations, b.iterations));
  set("bytes_sent", sumOpt(a.bytes_sent, b.bytes_sent));
  set("bytes_received", sumOpt(a.bytes_received, b.bytes_received));
  set("status_codes", mergeMaps(a.status_codes, b.status_codes));
  set("errors_by_class", mergeMaps(a.errors_by_class, b.errors_by_class));
  set("steps", mergeSteps(a.steps, b.steps));
  return out;
}

export class PointStore {
  readonly cap: number;
  private buf: BufferedPoint[] = [];
  /** interval → index in buf, for points that still stand for one interval */
  private pos = new Map<number, number>();
  /** bumped on every change, so a frame knows whether to redraw */
  version = 0;
  /** revisions of intervals already merged away (ignored) */
  lostRevisions = 0;

  constructor(cap = DEFAULT_CAP) {
    this.cap = Math.max(4, cap);
  }

  get length(): number {
    return this.buf.length;
  }

  get points(): readonly SeriesPoint[] {
    return this.buf;
  }

  clear(): void {
    this.buf = [];
    this.pos.clear();
    this.version++;
  }

  add(p: LivePoint): void {
    this.version++;
    const at = this.pos.get(p.interval);
    if (at !== undefined) {
      this.buf[at] = { ...p };
      return;
    }
    const last = this.buf[this.buf.length - 1];
    if (!last || p.interval > last.interval) {
      this.pos.set(p.interval, this.buf.length);
      this.buf.push({ ...p });
    } else {
      // Out of order: a merged point already covers it, or it belongs in between.
      const i = this.lowerBound(p.interval);
      const cur = this.buf[i];
      if (cur && cur.merged && cur.interval >= p.interval) {
        this.lostRevisions++;
        return;
      }
      this.buf.splice(i, 0, { ...p });
      this.reindex();
    }
    if (this.buf.length > this.cap) this.downsample();
  }

  private lowerBound(interval: number): number {
    let lo = 0;
    let hi = this.buf.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.buf[mid]!.interval < interval) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private reindex(): void {
    this.pos.clear();
    this.buf.forEach((q, i) => {
      if (!q.merged) this.pos.set(q.interval, i);
    });
  }

  /** Merges the older half 2:1. */
  private downsample(): void {
    const half = Math.floor(this.buf.length / 2) & ~1;
    const merged: BufferedPoint[] = [];
    for (let i = 0; i < half; i += 2) merged.push(mergePoints(this.buf[i]!, this.buf[i + 1]!));
    this.buf = merged.concat(this.buf.slice(half));
    this.reindex();
  }
}
