// Summaries and comparisons derived from reports and live points. Pure.

import type { Comparison, Latency, MeasurementGap, MetricDelta, Report, SeriesPoint, StepReport, ThresholdResult } from "./types";
import { fmtDuration, fmtInt } from "./format";

export interface Verdict {
  state: "passed" | "failed" | "none";
  failed: number;
  total: number;
}

/** The thresholds' verdict; a not-evaluated baseline threshold does not fail it. */
export function thresholdVerdict(ths: readonly ThresholdResult[] | undefined | null): Verdict {
  const list = ths ?? [];
  const failed = list.filter((t) => !t.passed && !t.no_baseline).length;
  if (list.length === 0) return { state: "none", failed: 0, total: 0 };
  return { state: failed > 0 ? "failed" : "passed", failed, total: list.length };
}

/** "≈1,234 requests by worker-2 in its last 3.5 s were not measured". */
export function gapSentence(g: MeasurementGap): string {
  return `≈${fmtInt(g.estimated_requests)} requests by ${g.worker} in its last ${fmtDuration(Math.max(0, g.to_t - g.from_t))} were not measured`;
}

/** Totals over live points (the report so far may lag behind the stream). */
export interface LiveTotals {
  requests: number;
  errors: number;
  errorRate: number;
  rps: number;
  dropped: number;
  /** iterations done; null when no point counts them (an older server) */
  iterations: number | null;
  /** iterations per second in the latest interval, null as iterations */
  iterationsRate: number | null;
  bytesSent: number;
  bytesReceived: number;
  last: SeriesPoint | null;
}

export function liveTotals(points: readonly SeriesPoint[]): LiveTotals {
  let requests = 0;
  let errors = 0;
  let dropped = 0;
  let iterations: number | null = null;
  let bytesSent = 0;
  let bytesReceived = 0;
  let prevT: number | null = null;
  let width = 1;
  for (const p of points) {
    const w = prevT == null ? (p.requests && p.rps ? p.requests / p.rps : 1) : p.t - prevT;
    prevT = p.t;
    width = w > 0 ? w : 1;
    const req = p.requests ?? p.rps * width;
    requests += req;
    errors += p.errors ?? p.error_rate * req;
    dropped += p.dropped_iterations ?? 0;
    if (p.iterations != null) iterations = (iterations ?? 0) + p.iterations;
    bytesSent += p.bytes_sent ?? 0;
    bytesReceived += p.bytes_received ?? 0;
  }
  const last = points.length ? points[points.length - 1]! : null;
  return {
    requests: Math.round(requests),
    errors: Math.round(errors),
    errorRate: requests > 0 ? errors / requests : 0,
    rps: last ? last.rps : 0,
    dropped,
    iterations,
    iterationsRate: last?.iterations != null ? last.iterations / width : null,
    bytesSent,
    bytesReceived,
    last,
  };
}

/** One row of the per-step table. */
export interface StepRow {
  index: number;
  /** the step's user flow ("" without flows) */
  flow: string;
  name: string;
  method: string;
  url: string;
  requests: number;
  errors: number;
  errorRate: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  rps: number | null;
  checksPassed: number | null;
  checksFailed: number | null;
}

/** Per-step rows of a finished report (rps over the run's duration). */
export function stepRows(report: Report, durationSec: number | undefined): StepRow[] {
  return (report.steps ?? []).map((s: StepReport, index) => ({
    index,
    flow: s.flow ?? "",
    name: s.name,
    method: s.method,
    url: s.url,
    requests: s.requests,
    errors: s.errors,
    errorRate: s.error_rate,
    p50: s.latency_ms?.p50 ?? null,
    p95: s.latency_ms?.p95 ?? null,
    p99: s.latency_ms?.p99 ?? null,
    max: s.latency_ms?.max ?? null,
    rps: durationSec && durationSec > 0 ? s.requests / durationSec : null,
    checksPassed: s.checks_passed ?? null,
    checksFailed: s.checks_failed ?? null,
  }));
}

/**
 * Per-step rows while live: counts summed over the points received,
 * latencies and rps of the latest interval with data for the step.
 */
export function liveStepRows(report: Report | null, points: readonly SeriesPoint[]): StepRow[] {
  const named = report?.steps ?? [];
  let count = named.length;
  for (const p of points) if (p.steps && p.steps.length > count) count = p.steps.length;
  const rows: StepRow[] = [];
  for (let s = 0; s < count; s++) {
    const meta = named[s];
    rows.push({
      index: s,
      flow: meta?.flow ?? "",
      name: meta?.name ?? `step ${s + 1}`,
      method: meta?.method ?? "",
      url: meta?.url ?? "",
      requests: 0,
      errors: 0,
      errorRate: 0,
      p50: null,
      p95: null,
      p99: null,
      max: meta?.latency_ms?.max ?? null,
      rps: null,
      checksPassed: meta?.checks_passed ?? null,
      checksFailed: meta?.checks_failed ?? null,
    });
  }
  let prevT: number | null = null;
  for (const p of points) {
    const w = prevT == null ? (p.requests && p.rps ? p.requests / p.rps : 1) : p.t - prevT;
    prevT = p.t;
    if (!p.steps) continue;
    p.steps.forEach((sp, s) => {
      const r = rows[s];
      if (!r || !sp) return;
      r.requests += sp.requests;
      r.errors += sp.errors;
      if (sp.requests > 0) {
        r.p50 = sp.p50;
        r.p95 = sp.p95;
        r.p99 = sp.p99;
        r.rps = sp.requests / (w > 0 ? w : 1);
      }
    });
  }
  for (const r of rows) r.errorRate = r.requests > 0 ? r.errors / r.requests : 0;
  return rows;
}

export type SortDir = "ascending" | "descending";

/** Sorts rows by a key; strings compare naturally, nulls last. */
export function sortRows<T>(rows: readonly T[], key: keyof T, dir: SortDir): T[] {
  const sign = dir === "ascending" ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = a[key] as unknown;
    const y = b[key] as unknown;
    if (x == null && y == null) return 0;
    if (x == null) return 1;
    if (y == null) return -1;
    if (typeof x === "number" && typeof y === "number") return sign * (x - y);
    return sign * String(x).localeCompare(String(y), "en", { numeric: true });
  });
}

// ------------------------------------------------------------- comparison

/** "better", "worse" or "same": the class a Δ cell gets. */
export function deltaState(d: MetricDelta): "better" | "worse" | "same" {
  if (d.better) return "better";
  if (d.worse) return "worse";
  return "same";
}

/** One row of the per-flow table. */
export interface FlowRow {
  name: string;
  share: number | null;
  steps: number;
  requests: number;
  requestShare: number | null;
  errors: number;
  errorRate: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  rps: number | null;
}

/**
 * Per-flow rows: counts summed from the step rows (so that they follow a
 * live run), latencies from the report's flows once it has them.
 */
export function flowRows(report: Report, steps: readonly StepRow[]): FlowRow[] {
  const flows = report.flows ?? [];
  if (!flows.length) return [];
  const total = steps.reduce((n, s) => n + s.requests, 0);
  return flows.map((f) => {
    const own = steps.filter((s) => s.flow === f.name);
    const requests = own.reduce((n, s) => n + s.requests, 0);
    const errors = own.reduce((n, s) => n + s.errors, 0);
    const rps = own.every((s) => s.rps == null) ? null : own.reduce((n, s) => n + (s.rps ?? 0), 0);
    const done = requests === f.requests;
    return {
      name: f.name,
      share: f.share ?? null,
      steps: f.steps?.length ?? own.length,
      requests,
      requestShare: total > 0 ? requests / total : null,
      errors,
      errorRate: requests > 0 ? errors / requests : 0,
      p50: done ? (f.latency_ms?.p50 ?? null) : null,
      p95: done ? (f.latency_ms?.p95 ?? null) : null,
      p99: done ? (f.latency_ms?.p99 ?? null) : null,
      rps,
    };
  });
}
