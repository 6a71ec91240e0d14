// Tables of a run page and of the compare page. Cells are text only.

import { h, type Child } from "./dom";
import { fmtDuration, fmtInt, fmtMs, fmtPct, fmtRate, fmtSigned, fmtSignedPct, fmtT, fmtUnit, thresholdUnit } from "./format";
import type { FlowRow, SortDir, StepRow } from "./summary";
import { deltaState, gapSentence, sortRows } from "./summary";
import type { Comparison, MeasurementGap, MetricDelta, RunEvent, SeriesPoint, ThresholdResult, WorkerReport } from "./types";

export interface Column<T> {
  key: keyof T & string;
  label: string;
  num?: boolean;
  cell: (row: T) => Child;
}

export interface SortState<T> {
  key: keyof T & string;
  dir: SortDir;
}

/** A table whose headers sort it (aria-sort on the sorted column). */
export function sortableTable<T>(testid: string, cols: Column<T>[], rows: readonly T[], sort: SortState<T> | null, onSort: (s: SortState<T>) => void, rowAttrs?: (r: T) => Record<string, string>): HTMLTableElement {
  const sorted = sort ? sortRows(rows, sort.key, sort.dir) : rows;
  const head = h(
    "tr",
    null,
    cols.map((c) => {
      const active = sort?.key === c.key;
      const dir: SortDir = active && sort!.dir === "descending" ? "ascending" : active ? "descending" : c.num ? "descending" : "ascending";
      const btn = h("button", { type: "button", class: "sort", onclick: () => onSort({ key: c.key, dir }) }, c.label);
      return h("th", { class: c.num ? "num" : null, "aria-sort": active ? sort!.dir : "none", scope: "col", "data-key": c.key }, btn);
    }),
  );
  const body = h(
    "tbody",
    null,
    sorted.map((r) => h("tr", rowAttrs ? rowAttrs(r) : null, cols.map((c) => h("td", { class: c.num ? "num" : null }, c.cell(r))))),
  );
  return h("table", { class: "data", "data-testid": testid }, h("thead", null, head), body);
}

/** Each flow in both runs; null when the runs have none in common. */
export function compareFlowsTable(c: Comparison): HTMLElement | null {
  if (!c.flows?.length) return null;
  const rows: Child[][] = [];
  for (const f of c.flows) for (const d of f.metrics) rows.push([f.name, ...deltaRow(h("code", null, d.metric), d)]);
  return table("compare-flows", ["Flow", "Metric", "Base", "Head", "Δ", "Δ%"], rows, [2, 3, 4, 5]);
}

/** A plain table. */
export function table(testid: string | null, headers: string[], rows: Child[][], numCols: number[] = []): HTMLTableElement {
  const isNum = (i: number) => numCols.includes(i);
  return h(
    "table",
    { class: "data", "data-testid": testid },
    h("thead", null, h("tr", null, headers.map((t, i) => h("th", { class: isNum(i) ? "num" : null, scope: "col" }, t)))),
    h("tbody", null, rows.map((r) => h("tr", null, r.map((c, i) => h("td", { class: isNum(i) ? "num" : null }, c))))),
  );
}

export const stepColumns: Column<StepRow>[] = [
  { key: "index", label: "#", num: true, cell: (r) => r.index + 1 },
  { key: "name", label: "Step", cell: (r) => h("span", null, h("strong", null, r.name), r.method || r.url ? h("span", { class: "sub" }, ` ${r.method} ${r.url}`) : null) },
  { key: "requests", label: "Requests", num: true, cell: (r) => fmtInt(r.requests) },
  { key: "errors", label: "Errors", num: true, cell: (r) => fmtInt(r.errors) },
  { key: "errorRate", label: "Error rate", num: true, cell: (r) => fmtPct(r.errorRate) },
  { key: "p50", label: "p50", num: true, cell: (r) => fmtMs(r.p50) },
  { key: "p95", label: "p95", num: true, cell: (r) => fmtMs(r.p95) },
  { key: "p99", label: "p99", num: true, cell: (r) => fmtMs(r.p99) },
  { key: "max", label: "max", num: true, cell: (r) => fmtMs(r.max) },
  { key: "rps", label: "Requests/s", num: true, cell: (r) => fmtRate(r.rps) },
  { key: "checksFailed", label: "Checks ok / failed", num: true, cell: (r) => (r.checksPassed == null && r.checksFailed == null ? "—" : `${fmtInt(r.checksPassed ?? 0)} / ${fmtInt(r.checksFailed ?? 0)}`) },
];

/** The step columns, with the flow's after "#" when the scenario has flows. */
export function stepColumnsFor(withFlows: boolean): Column<StepRow>[] {
  if (!withFlows) return stepColumns;
  const [first, ...rest] = stepColumns;
  return [...(first ? [first] : []), { key: "flow", label: "Flow", cell: (r) => h("code", null, r.flow) }, ...rest];
}

export const flowColumns: Column<FlowRow>[] = [
  { key: "name", label: "Flow", cell: (r) => h("strong", null, r.name) },
  { key: "share", label: "Weight share", num: true, cell: (r) => (r.share == null ? "—" : fmtPct(r.share)) },
  { key: "steps", label: "Steps", num: true, cell: (r) => fmtInt(r.steps) },
  { key: "requests", label: "Requests", num: true, cell: (r) => fmtInt(r.requests) },
  { key: "requestShare", label: "Share of requests", num: true, cell: (r) => (r.requestShare == null ? "—" : fmtPct(r.requestShare)) },
  { key: "errors", label: "Errors", num: true, cell: (r) => fmtInt(r.errors) },
  { key: "errorRate", label: "Error rate", num: true, cell: (r) => fmtPct(r.errorRate) },
  { key: "p50", label: "p50", num: true, cell: (r) => fmtMs(r.p50) },
  { key: "p95", label: "p95", num: true, cell: (r) => fmtMs(r.p95) },
  { key: "p99", label: "p99", num: true, cell: (r) => fmtMs(r.p99) },
  { key: "rps", label: "Requests/s", num: true, cell: (r) => fmtRate(r.rps) },
];

/** What a threshold is limited to, in words. */
export function thresholdScope(t: ThresholdResult): string {
  if (t.flow && t.step) return `flow ${t.flow}, step ${t.step}`;
  if (t.flow) return `flow ${t.flow}`;
  return t.step || "whole run";
}

export function thresholdsTable(ths: readonly ThresholdResult[]): HTMLElement {
  if (!ths.length) return h("p", { class: "note", "data-testid": "thresholds" }, "This scenario has no thresholds.");
  return table(
    "thresholds",
    ["Threshold", "Scope", "Actual", "Limit", "Verdict"],
    ths.map((t) => {
      const unit = thresholdUnit(t.expression);
      const verdict = t.no_baseline ? h("span", { class: "badge muted" }, "not evaluated") : t.passed ? h("span", { class: "badge ok" }, "passed") : h("span", { class: "badge bad" }, "failed");
      return [h("code", null, t.expression), thresholdScope(t), t.error ? "—" : fmtUnit(t.actual, unit), t.limit == null ? "—" : fmtUnit(t.limit, unit), h("span", null, verdict, t.error ? h("span", { class: "sub" }, " " + t.error) : null)];
    }),
    [2, 3],
  );
}

/** Counts by key (status codes, error classes) with their share. */
export function countsTable(testid: string, keyLabel: string, counts: Record<string, number> | undefined, total: number): HTMLElement {
  const entries = Object.entries(counts ?? {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0], "en", { numeric: true }));
  if (!entries.length) return h("p", { class: "note", "data-testid": testid }, "None.");
  return table(testid, [keyLabel, "Count", "Share of requests"], entries.map(([k, n]) => [h("code", null, k), fmtInt(n), total > 0 ? fmtPct(n / total) : "—"]), [1, 2]);
}

export function workersTable(workers: readonly WorkerReport[], total: number, live: SeriesPoint | null): HTMLElement {
  const vus = live?.vus_by_worker ?? null;
  const ids = new Set(workers.map((w) => w.id));
  const rows: Child[][] = workers.map((w) => [h("code", null, w.id), w.shards.join(", "), fmtInt(w.requests), total > 0 ? fmtPct(w.requests / total) : "—", vus ? fmtInt(vus[w.id] ?? 0) : "—"]);
  if (vus) for (const id of Object.keys(vus).sort()) if (!ids.has(id)) rows.push([h("code", null, id), "—", "—", "—", fmtInt(vus[id])]);
  if (!rows.length) return h("p", { class: "note", "data-testid": "workers-table" }, "No worker has reported yet.");
  return table("workers-table", ["Worker", "Shards", "Requests", "Share", "VUs now"], rows, [2, 3, 4]);
}

export function eventsList(events: readonly RunEvent[]): HTMLElement {
  const ul = h("ul", { class: "events", "data-testid": "events" });
  for (const e of events) {
    ul.appendChild(h("li", { "data-kind": e.kind }, h("span", { class: "t" }, fmtT(e.t)), h("span", { class: `kind k-${/^[a-z_]+$/.test(e.kind) ? e.kind : "other"}` }, e.kind), h("span", { class: "detail" }, e.detail)));
  }
  return ul;
}

export function gapsList(gaps: readonly MeasurementGap[]): HTMLElement {
  return h(
    "ul",
    { class: "gaps", "data-testid": "measurement-gaps" },
    gaps.map((g) => h("li", null, gapSentence(g), ` (shard ${g.shard}, ${fmtT(g.from_t)}–${fmtT(g.to_t)}, ${fmtDuration(g.to_t - g.from_t)}): ${g.reason}.`)),
  );
}

function deltaRow(label: Child, d: MetricDelta): Child[] {
  const st = deltaState(d);
  return [label, fmtUnit(d.base, d.unit), fmtUnit(d.head, d.unit), h("span", { class: `delta ${st}` }, fmtSigned(d.delta, d.unit)), h("span", { class: `delta ${st}` }, d.base === 0 ? "—" : fmtSignedPct(d.delta_pct))];
}

export function compareTable(c: Comparison): HTMLElement {
  return table("compare-table", ["Metric", "Base", "Head", "Δ", "Δ%"], c.metrics.map((d) => deltaRow(h("code", null, d.metric), d)), [1, 2, 3, 4]);
}

export function compareStepsTable(c: Comparison): HTMLElement {
  if (!c.steps.length) return h("p", { class: "note", "data-testid": "compare-steps" }, "No step is in both runs.");
  const rows: Child[][] = [];
  for (const s of c.steps) for (const d of s.metrics) rows.push([s.flow ? `${s.flow}/${s.name}` : s.name, ...deltaRow(h("code", null, d.metric), d)]);
  return table("compare-steps", ["Step", "Metric", "Base", "Head", "Δ", "Δ%"], rows, [2, 3, 4, 5]);
}

