// The run page: one renderer for the live console, the finished run and the
// report file. Sections are built once; update() refills their contents and
// swaps chart data in place, so a live page costs one pass per frame.

import { ChartHandle, ChartResizer, type ChartEnv } from "./charts";
import { distributionCharts, overlayCharts, stepCharts, timeCharts, type ChartSlot } from "./chartspecs";
import { fill, h, isHttpUrl, note, type Child } from "./dom";
import { fmtBytes, fmtDate, fmtDuration, fmtInt, fmtMs, fmtPct, fmtRate, secondsBetween } from "./format";
import { decimate, shapeSeries } from "./shape";
import { observations } from "./samples";
import { flowRows, liveStepRows, liveTotals, stepRows, thresholdVerdict, type FlowRow, type StepRow } from "./summary";
import { compareFlowsTable, compareStepsTable, compareTable, countsTable, eventsList, flowColumns, gapsList, sortableTable, stepColumnsFor, thresholdsTable, workersTable, type SortState } from "./tables";
import type { Comparison, Report, Run, RunEvent, SeriesPoint } from "./types";

export interface RunModel {
  report: Report;
  /** live points (the stream); absent for a finished run */
  live?: readonly SeriesPoint[] | null;
  /** the run as the API shows it (console) */
  run?: Run | null;
  /** status from the stream, newer than report.status */
  status?: string;
  events?: readonly RunEvent[];
  baseline?: Report | null;
  comparison?: Comparison | null;
}

interface Card {
  el: HTMLElement;
  title: HTMLElement;
  note: HTMLElement;
  handle: ChartHandle | null;
}

/** A set of chart cards kept in slot order. */
export class ChartGroup {
  readonly el: HTMLElement;
  private cards = new Map<string, Card>();

  constructor(
    cls: string,
    private env: ChartEnv,
    private resizer: ChartResizer,
  ) {
    this.el = h("div", { class: cls });
  }

  set(slots: readonly ChartSlot[]): void {
    const keep = new Set(slots.map((s) => s.name));
    for (const [name, c] of this.cards) {
      if (keep.has(name)) continue;
      this.drop(c);
      c.el.remove();
      this.cards.delete(name);
    }
    slots.forEach((slot, i) => {
      let c = this.cards.get(slot.name);
      if (!c) {
        c = { el: h("figure", { class: "chart-card", "data-card": slot.name }), title: h("figcaption"), note: h("p", { class: "note" }), handle: null };
        c.el.append(c.title, c.note);
        this.cards.set(slot.name, c);
      }
      if (this.el.children[i] !== c.el) this.el.insertBefore(c.el, this.el.children[i] ?? null);
      c.title.textContent = slot.title;
      c.note.textContent = slot.note ?? "";
      c.note.hidden = !slot.note;
      if (slot.spec) {
        if (!c.handle) {
          c.handle = new ChartHandle(slot.name, this.env);
          c.el.insertBefore(c.handle.el, c.note);
          this.resizer.watch(c.handle);
        }
        c.handle.set(slot.spec);
      } else {
        this.drop(c);
      }
      c.el.classList.toggle("empty", !slot.spec);
    });
  }

  redraw(): void {
    for (const c of this.cards.values()) c.handle?.redraw();
  }

  /** Destroys every chart (their plots, listeners and sync membership). */
  destroy(): void {
    for (const c of this.cards.values()) this.drop(c);
    this.cards.clear();
    this.el.replaceChildren();
  }

  private drop(c: Card): void {
    if (!c.handle) return;
    this.resizer.unwatch(c.handle);
    c.handle.destroy();
    c.handle = null;
  }
}

function kpi(label: string, value: string, sub?: string, cls?: string): HTMLElement {
  return h("div", { class: "kpi" + (cls ? " " + cls : "") }, h("div", { class: "kpi-label" }, label), h("div", { class: "kpi-value" }, value), sub ? h("div", { class: "kpi-sub" }, sub) : null);
}

export class RunView {
  readonly root: HTMLElement;
  /** the console's run controls go here; kept across updates */
  readonly controls: HTMLElement;
  private header = h("header", { class: "run-header" });
  private kpis = h("div", { class: "kpis", "data-testid": "kpis" });
  private thresholds = h("section", { class: "card" });
  private gaps = h("section", { class: "card warn" });
  private events = h("section", { class: "card" });
  private flowsTable = h("div", { class: "table-wrap" });
  private stepsTitle = h("h2");
  private stepsTable = h("div", { class: "table-wrap" });
  private compareTables = h("div");
  private codes = h("section", { class: "card" });
  private observed = h("section", { class: "card", "data-section": "observations" });
  private workers = h("section", { class: "card" });
  private compare = h("section", { class: "card", "data-section": "compare" });
  private appendix = h("section", { class: "card appendix" });
  private time: ChartGroup;
  private dist: ChartGroup;
  private stepGroup: ChartGroup;
  private overlay: ChartGroup;
  private resizer = new ChartResizer();
  private eventList: readonly RunEvent[] = [];
  private stepSort: SortState<StepRow> | null = null;
  private flowSort: SortState<FlowRow> | null = null;
  private model: RunModel | null = null;
  private downloadUrl: string | null = null;
  private downloadFor: Report | null = null;
  private downloadLink: HTMLAnchorElement | null = null;

  constructor(runId: string) {
    const env: ChartEnv = { events: () => this.eventList };
    this.time = new ChartGroup("charts", env, this.resizer);
    this.dist = new ChartGroup("charts two", env, this.resizer);
    this.stepGroup = new ChartGroup("charts two", env, this.resizer);
    this.overlay = new ChartGroup("charts", env, this.resizer);
    this.controls = h("div", { class: "controls" });
    this.root = h(
      "main",
      { class: "run-page", "data-testid": "run-page", "data-run-id": runId, "data-points": "0" },
      this.header,
      this.controls,
      this.kpis,
      this.thresholds,
      this.gaps,
      h("section", { class: "card" }, h("h2", null, "Over time"), this.time.el),
      h("section", { class: "card" }, h("h2", null, "Latency distribution"), this.dist.el),
      this.events,
      h("section", { class: "card" }, this.flowsTable, this.stepsTitle, this.stepsTable, this.stepGroup.el),
      this.codes,
      this.observed,
      this.workers,
      this.compare,
      this.appendix,
    );
    this.compare.append(this.compareTables, this.overlay.el);
  }

  destroy(): void {
    for (const g of [this.time, this.dist, this.stepGroup, this.overlay]) g.destroy();
    this.resizer.disconnect();
    if (this.downloadUrl) URL.revokeObjectURL(this.downloadUrl);
  }

  /** Makes the report.json download link's Blob (object URL) if not made yet. */
  prepareDownload(): void {
    const r = this.model?.report;
    if (!r || !this.downloadLink) return;
    if (this.downloadFor !== r) {
      if (this.downloadUrl) URL.revokeObjectURL(this.downloadUrl);
      this.downloadUrl = URL.createObjectURL(new Blob([JSON.stringify(r, null, 2)], { type: "application/json" }));
      this.downloadFor = r;
    }
    this.downloadLink.href = this.downloadUrl!;
  }

  update(m: RunModel): void {
    this.model = m;
    const r = m.report;
    const points = m.live ?? r.series ?? [];
    const live = !!m.live;
    const events = m.events ?? r.events ?? [];
    const eventsChanged = events !== this.eventList;
    this.eventList = events;
    this.root.dataset.points = String(points.length);
    this.root.dataset.mode = live ? "live" : "report";

    const shaped = decimate(shapeSeries(points, r.steps?.length ?? 0));
    performance.mark("barrage:shaped");
    this.renderHeader(m);
    this.renderKpis(m, points, live);
    fill(this.thresholds, h("h2", null, live ? "Thresholds (so far)" : "Thresholds"), thresholdsTable(r.thresholds ?? []));
    const gaps = r.measurement_gaps ?? [];
    this.gaps.hidden = gaps.length === 0;
    if (gaps.length) fill(this.gaps, h("h2", null, "Measurement gaps"), gapsList(gaps));

    this.time.set(timeCharts(shaped));
    performance.mark("barrage:time-charts");
    this.dist.set(distributionCharts(r));
    this.stepGroup.set(stepCharts(shaped, (r.steps ?? []).map((s) => s.name)));
    if (eventsChanged) this.time.redraw();
    performance.mark("barrage:all-charts");

    fill(this.events, h("h2", null, "Events"), events.length ? null : note("No events."), eventsList(events));
    this.renderSteps(points, live);
    const total = r.totals?.requests ?? 0;
    fill(
      this.codes,
      h("div", { class: "split" }, h("div", null, h("h2", null, "Status codes"), countsTable("status-codes-table", "Status", r.status_codes, total)), h("div", null, h("h2", null, "Errors by class"), countsTable("error-classes-table", "Class", r.errors_by_class, total))),
    );
    fill(this.observed, h("h2", null, "Failure samples and slowest traces"), ...observations(r.steps ?? []));
    fill(this.workers, h("h2", null, "Workers"), workersTable(r.workers ?? [], total, live ? (points[points.length - 1] ?? null) : null));
    this.renderCompare(m);
    this.renderAppendix(r, live);
  }

  /** Re-renders only the steps table (after a sort). */
  private renderSteps(points: readonly SeriesPoint[], live: boolean): void {
    const r = this.model!.report;
    const rows = live ? liveStepRows(r, points) : stepRows(r, secondsBetween(r.started_at, r.ended_at));
    const flows = flowRows(r, rows);
    const tableEl = rows.length
      ? sortableTable("steps-table", stepColumnsFor(flows.length > 0), rows, this.stepSort, (s) => {
          this.stepSort = s;
          this.renderSteps(points, live);
        })
      : note("No steps.", { "data-testid": "steps-table" });
    if (flows.length) {
      const flowsEl = sortableTable("flows-table", flowColumns, flows, this.flowSort, (s) => {
        this.flowSort = s;
        this.renderSteps(points, live);
      });
      fill(this.flowsTable, h("h2", null, live ? "Flows (counts so far)" : "Flows"), flowsEl);
    } else {
      fill(this.flowsTable);
    }
    this.stepsTitle.textContent = live ? "Steps (counts so far; latency and rate of the last interval)" : "Steps";
    fill(this.stepsTable, tableEl);
  }

  private renderHeader(m: RunModel): void {
    const r = m.report;
    const status = m.status ?? m.run?.status ?? r.status;
    const v = thresholdVerdict(r.thresholds);
    const verdict = v.state === "none" ? null : v.state === "passed" ? h("span", { class: "badge ok", "data-testid": "verdict" }, "thresholds passed") : h("span", { class: "badge bad", "data-testid": "verdict" }, `${v.failed} of ${v.total} thresholds failed`);
    const temporal = r.temporal_ui_url || m.run?.temporal_ui_url;
    const dur = secondsBetween(r.started_at, r.ended_at);
    const meta: [string, Child][] = [
      ["Run", h("code", null, r.run_id)],
      ["Scenario ID", h("code", null, r.scenario_id)],
      ["Target", r.target_base_url || "—"],
      ["Workers", fmtInt(r.worker_count ?? m.run?.worker_count)],
      ["Started", fmtDate(r.started_at ?? m.run?.started_at)],
      ["Ended", status === "running" || status === "queued" ? "—" : fmtDate(r.ended_at ?? m.run?.ended_at)],
      ["Duration", dur == null ? "—" : fmtDuration(dur)],
    ];
    const tags = m.run?.tags ?? {};
    if (Object.keys(tags).length) meta.push(["Tags", Object.entries(tags).map(([k, val]) => h("span", { class: "tag" }, `${k}=${val}`))]);
    if (r.baseline_run_id || m.run?.baseline_run_id) meta.push(["Baseline", h("code", null, r.baseline_run_id || m.run?.baseline_run_id)]);
    if (m.run?.reason) meta.push(["Reason", m.run.reason]);
    if (r.temporal_workflow_id) meta.push(["Temporal", isHttpUrl(temporal) ? h("a", { href: temporal, target: "_blank", rel: "noopener" }, r.temporal_workflow_id) : h("code", null, r.temporal_workflow_id)]);
    fill(
      this.header,
      h("div", { class: "title-row" }, h("h1", null, r.scenario || r.scenario_id || "Run"), h("span", { class: `badge status s-${/^[a-z]+$/.test(status) ? status : "unknown"}`, "data-testid": "run-status" }, status), verdict),
      h("dl", { class: "meta" }, meta.map(([k, val]) => h("div", null, h("dt", null, k), h("dd", null, val)))),
    );
  }

  private renderKpis(m: RunModel, points: readonly SeriesPoint[], live: boolean): void {
    const r = m.report;
    const t = r.totals ?? {};
    const l = r.latency_ms ?? {};
    const lt = live ? liveTotals(points) : null;
    const requests = lt ? lt.requests : (t.requests ?? 0);
    const errRate = lt ? lt.errorRate : (t.error_rate ?? 0);
    const last = lt?.last;
    const tiles: HTMLElement[] = [
      kpi("Requests", fmtInt(requests), `${fmtInt(lt ? lt.errors : t.errors)} errors`),
      kpi(live ? "Requests/s (now)" : "Requests/s", fmtRate(lt ? lt.rps : t.rps)),
      lt && lt.iterations != null
        ? kpi("Iterations", fmtInt(lt.iterations), `${fmtRate(lt.iterationsRate)} now`)
        : kpi("Iterations", fmtInt(t.iterations), t.iterations_per_second == null ? undefined : fmtRate(t.iterations_per_second)),
      kpi("p50", fmtMs(live && last ? last.p50 : l.p50), live ? "last interval" : undefined),
      kpi("p95", fmtMs(live && last ? last.p95 : l.p95), live ? "last interval" : undefined),
      kpi("p99", fmtMs(live && last ? last.p99 : l.p99), live ? "last interval" : undefined),
      kpi("Error rate", fmtPct(errRate), undefined, errRate > 0 ? "bad" : undefined),
      kpi("Checks passed", t.checks_passed == null && t.checks_failed == null ? "—" : fmtInt(t.checks_passed ?? 0), t.checks_failed ? `${fmtInt(t.checks_failed)} failed` : "none failed", t.checks_failed ? "bad-sub" : undefined),
      kpi("Dropped iterations", fmtInt(lt && points.some((p) => p.dropped_iterations != null) ? lt.dropped : t.dropped_iterations), undefined, (t.dropped_iterations ?? 0) > 0 ? "bad" : undefined),
      kpi("Bytes received", fmtBytes(lt && lt.bytesReceived ? lt.bytesReceived : t.bytes_received), `${fmtBytes(lt && lt.bytesSent ? lt.bytesSent : t.bytes_sent)} sent`),
    ];
    fill(this.kpis, tiles);
  }

  private renderCompare(m: RunModel): void {
    const base = m.baseline;
    const cmp = m.comparison ?? null;
    this.compare.hidden = !cmp;
    if (!cmp) {
      this.overlay.set([]);
      return;
    }
    const title = `Compared with ${cmp.base.run_id}`;
    const flows = compareFlowsTable(cmp);
    fill(this.compareTables, h("h2", null, title), compareTable(cmp), flows ? h("h3", null, "Per flow") : null, flows, h("h3", null, "Per step"), compareStepsTable(cmp));
    this.overlay.el.hidden = !base;
    if (base) {
      const headPoints = m.live ?? m.report.series ?? [];
      this.overlay.set(overlayCharts(decimate(shapeSeries(base.series ?? [])), decimate(shapeSeries(headPoints)), "baseline", "this run"));
    }
  }

  private renderAppendix(r: Report, live: boolean): void {
    const parts: Child[] = [h("h2", null, "Appendix")];
    if (r.scenario_yaml) parts.push(h("h3", null, "Scenario as run"), h("pre", { class: "yaml", "data-testid": "report-scenario-yaml" }, r.scenario_yaml));
    else parts.push(note("This report does not include the scenario as run."));
    if (!live) {
      const a = h("a", { href: this.downloadFor === r && this.downloadUrl ? this.downloadUrl : "#report.json", download: "report.json", class: "download", "data-testid": "download-report" }, "Download report.json");
      // Serializing a long run's report takes a while (a 1-hour one is
      // megabytes): done once, when the link is about to be used — clicked,
      // focused, or right-clicked to save it — never while the page draws.
      for (const ev of ["pointerdown", "focus", "contextmenu", "click"]) a.addEventListener(ev, () => this.prepareDownload());
      this.downloadLink = a;
      parts.push(h("p", null, a));
    } else {
      this.downloadLink = null;
    }
    fill(this.appendix, parts);
  }
}
