// Which charts a run page shows and what each draws: Shaped columns →
// ChartSpecs. No DOM. A chart without data gets a note instead of a spec.

import type uPlot from "uplot";
import type { ChartSpec } from "./charts";
import { colorAt, statusColor } from "./charts";
import { fmtBytes, fmtMs, fmtNum, fmtPct } from "./format";
import type { Column, Shaped } from "./shape";
import { hasData, histogramBars, joinOnT, ninesTicks, percentileCurve } from "./shape";
import type { Report } from "./types";

export interface ChartSlot {
  name: string;
  title: string;
  spec: ChartSpec | null;
  /** why there is no chart, or a remark under it */
  note?: string;
}

const rateFmt = (v: number) => fmtNum(v) + "/s";
const countFmt = (v: number) => fmtNum(v);

function data(t: Float64Array, ...cols: Column[]): uPlot.AlignedData {
  return [t, ...cols] as uPlot.AlignedData;
}

function noData(name: string, title: string, note: string): ChartSlot {
  return { name, title, spec: null, note };
}

/** The run's time charts, in page order. */
export function timeCharts(s: Shaped): ChartSlot[] {
  const out: ChartSlot[] = [];
  const empty = s.n === 0;
  const none = "No data: no interval was measured.";

  // Requests/s, stacked: errors drawn on top of ok.
  out.push(
    empty
      ? noData("rps", "Requests per second", none)
      : {
          name: "rps",
          title: "Requests per second",
          spec: {
            name: "rps",
            kind: "time",
            series: [
              { label: "errors/s", stroke: "#dc2626", fill: "#fecaca" },
              { label: "ok/s", stroke: "#16a34a", fill: "#bbf7d0" },
            ],
            data: data(s.t, s.rps, s.okRps),
            legendData: [null, s.errRps, s.okRps],
            yFmt: rateFmt,
          },
        },
  );

  const lat: { label: string; col: Column | null; color: string; dash?: number[] }[] = [
    { label: "p50", col: s.p50, color: "#16a34a" },
    { label: "p90", col: s.p90, color: "#0891b2" },
    { label: "p95", col: s.p95, color: "#2563eb" },
    { label: "p99", col: s.p99, color: "#9333ea" },
    { label: "max", col: s.max, color: "#dc2626", dash: [4, 3] },
  ];
  const latPresent = lat.filter((l) => l.col);
  out.push(
    empty || !latPresent.some((l) => hasData(l.col))
      ? noData("latency", "Latency", empty ? none : "No latency recorded.")
      : {
          name: "latency",
          title: "Latency",
          spec: {
            name: "latency",
            kind: "time",
            series: latPresent.map((l) => ({ label: l.label, stroke: l.color, dash: l.dash })),
            data: data(s.t, ...latPresent.map((l) => l.col!)),
            yFmt: fmtMs,
          },
        },
  );

  out.push(
    empty
      ? noData("error_rate", "Error rate", none)
      : { name: "error_rate", title: "Error rate", spec: { name: "error_rate", kind: "time", series: [{ label: "error rate", stroke: "#dc2626", fill: "rgba(220,38,38,0.12)" }], data: data(s.t, s.errorRate), yFmt: fmtPct } },
  );

  if (empty) {
    out.push(noData("vus", "Virtual users", none));
  } else {
    const series: ChartSpec["series"] = [{ label: "VUs", stroke: "#111827", width: 2 }];
    const cols: Column[] = [s.vus];
    if (s.targetVus) {
      series.push({ label: "target", stroke: "#ea580c", dash: [6, 4], width: 1.5 });
      cols.push(s.targetVus);
    }
    if (s.vusByWorker && s.vusByWorker.keys.length > 1) {
      s.vusByWorker.keys.forEach((k, i) => {
        series.push({ label: k, stroke: colorAt(i), width: 1 });
        cols.push(s.vusByWorker!.cols[i]!);
      });
    }
    out.push({ name: "vus", title: "Virtual users", note: "In the open model, VUs are the iterations in flight and the target is arrivals per second.", spec: { name: "vus", kind: "time", series, data: data(s.t, ...cols), yFmt: countFmt } });
  }

  out.push(
    empty
      ? noData("workers", "Workers", none)
      : { name: "workers", title: "Workers reporting", spec: { name: "workers", kind: "time", stepped: true, series: [{ label: "workers", stroke: "#4b5563", width: 2 }], data: data(s.t, s.workers), yFmt: countFmt } },
  );

  out.push(
    !s.dropped
      ? noData("dropped", "Dropped iterations", "No per-interval dropped iterations in this report.")
      : !hasData(s.dropped)
        ? noData("dropped", "Dropped iterations", "No iteration was dropped.")
        : { name: "dropped", title: "Dropped iterations per second", spec: { name: "dropped", kind: "time", series: [{ label: "dropped/s", stroke: "#ea580c", fill: "rgba(234,88,12,0.15)" }], data: data(s.t, s.dropped), yFmt: rateFmt } },
  );

  if (!s.bytesSent && !s.bytesReceived) {
    out.push(noData("bytes", "Bytes per second", "No per-interval byte counts in this report."));
  } else {
    const series: ChartSpec["series"] = [];
    const cols: Column[] = [];
    if (s.bytesSent) {
      series.push({ label: "sent/s", stroke: "#2563eb" });
      cols.push(s.bytesSent);
    }
    if (s.bytesReceived) {
      series.push({ label: "received/s", stroke: "#16a34a" });
      cols.push(s.bytesReceived);
    }
    out.push({ name: "bytes", title: "Bytes per second", spec: { name: "bytes", kind: "time", series, data: data(s.t, ...cols), yFmt: (v) => fmtBytes(v) + "/s" } });
  }

  out.push(
    !s.statusCodes
      ? noData("status_codes", "Status codes", "No per-interval status codes in this report.")
      : {
          name: "status_codes",
          title: "Responses per second by status code",
          spec: { name: "status_codes", kind: "time", series: s.statusCodes.keys.map((k, i) => ({ label: k, stroke: statusColor(k, i) })), data: data(s.t, ...s.statusCodes.cols), yFmt: rateFmt },
        },
  );

  out.push(
    !s.errorClasses
      ? noData("error_classes", "Errors by class", empty ? none : "No errors by class in the series (none, or an older report).")
      : {
          name: "error_classes",
          title: "Errors per second by class",
          spec: { name: "error_classes", kind: "time", series: s.errorClasses.keys.map((k, i) => ({ label: k, stroke: colorAt(i + 2) })), data: data(s.t, ...s.errorClasses.cols), yFmt: rateFmt },
        },
  );
  return out;
}

/** The latency histogram and the percentile distribution. */
export function distributionCharts(report: Report): ChartSlot[] {
  const out: ChartSlot[] = [];
  const bars = histogramBars(report.histogram);
  out.push(
    bars
      ? {
          name: "histogram",
          title: "Latency histogram",
          spec: { name: "histogram", kind: "bars", series: [{ label: "requests", stroke: "#2563eb", fill: "rgba(37,99,235,0.55)", bars: true }], data: [bars.x, bars.counts], yFmt: countFmt, xLabels: bars.labels },
        }
      : noData("histogram", "Latency histogram", "No data: no request was measured."),
  );
  const curve = percentileCurve(report.percentiles, report.latency_ms, report.totals?.requests);
  out.push(
    curve
      ? {
          name: "percentiles",
          title: "Latency by percentile",
          note: curve.fromSummary ? "From the summary percentiles (this report has no full distribution)." : undefined,
          spec: {
            name: "percentiles",
            kind: "nines",
            series: [{ label: "latency", stroke: "#9333ea", width: 2, points: curve.x.length < 40 }],
            data: [curve.x, curve.ms],
            yFmt: fmtMs,
            xTicks: ninesTicks(curve.x[curve.x.length - 1] ?? 1),
          },
        }
      : noData("percentiles", "Latency by percentile", "No data: no request was measured."),
  );
  return out;
}

/** One chart per step: its requests/s and p95. */
export function stepCharts(s: Shaped, names: readonly string[]): ChartSlot[] {
  if (!s.steps) return [];
  return s.steps.map((c, i) => ({
    name: `step-${i}`,
    title: names[i] ?? `step ${i + 1}`,
    spec: {
      name: `step-${i}`,
      kind: "time",
      series: [
        { label: "requests/s", stroke: "#2563eb", fill: "rgba(37,99,235,0.1)" },
        { label: "errors/s", stroke: "#dc2626" },
        { label: "p95", stroke: "#9333ea", scale: "y2" },
      ],
      data: [s.t, c.rps, c.errRps, c.p95],
      yFmt: rateFmt,
      y2Fmt: fmtMs,
    },
  }));
}

/** Base-vs-head overlays for the compare section (same chart names). */
export function overlayCharts(base: Shaped, head: Shaped, baseLabel = "base", headLabel = "head"): ChartSlot[] {
  if (base.n === 0 && head.n === 0) return [noData("rps", "Requests per second", "No data in either run.")];
  const B = "#9ca3af";
  const H = "#2563eb";
  const j = (a: Column[], b: Column[]) => joinOnT(base.t, a, head.t, b);
  const out: ChartSlot[] = [];
  const r = j([base.rps], [head.rps]);
  out.push({ name: "rps", title: "Requests per second", spec: { name: "rps", kind: "time", series: [{ label: baseLabel, stroke: B, width: 2 }, { label: headLabel, stroke: H, width: 2 }], data: [r.t, ...r.a, ...r.b], yFmt: rateFmt } });
  const l = j([base.p95, base.p99], [head.p95, head.p99]);
  out.push({
    name: "latency",
    title: "Latency p95 / p99",
    spec: {
      name: "latency",
      kind: "time",
      series: [
        { label: `${baseLabel} p95`, stroke: B, width: 2 },
        { label: `${baseLabel} p99`, stroke: B, dash: [4, 3] },
        { label: `${headLabel} p95`, stroke: H, width: 2 },
        { label: `${headLabel} p99`, stroke: H, dash: [4, 3] },
      ],
      data: [l.t, l.a[0]!, l.a[1]!, l.b[0]!, l.b[1]!],
      yFmt: fmtMs,
    },
  });
  const e = j([base.errorRate], [head.errorRate]);
  out.push({ name: "error_rate", title: "Error rate", spec: { name: "error_rate", kind: "time", series: [{ label: baseLabel, stroke: B, width: 2 }, { label: headLabel, stroke: "#dc2626", width: 2 }], data: [e.t, ...e.a, ...e.b], yFmt: fmtPct } });
  const v = j([base.vus], [head.vus]);
  out.push({ name: "vus", title: "Virtual users", spec: { name: "vus", kind: "time", series: [{ label: baseLabel, stroke: B, width: 2 }, { label: headLabel, stroke: H, width: 2 }], data: [v.t, ...v.a, ...v.b], yFmt: countFmt } });
  return out;
}
