// Charts: uPlot instances behind a small handle that rebuilds a chart only
// when its set of series changes, and otherwise just swaps its data (live
// updates cost one setData per chart per frame).

import uPlot from "uplot";
import { fmtNum, fmtT } from "./format";
import { ninesLabel } from "./shape";
import type { RunEvent } from "./types";

export interface SeriesSpec {
  label: string;
  stroke: string;
  fill?: string;
  width?: number;
  dash?: number[];
  scale?: "y" | "y2";
  bars?: boolean;
  points?: boolean;
}

export interface ChartSpec {
  name: string;
  kind: "time" | "bars" | "nines";
  series: SeriesSpec[];
  /** [x, ...ys] */
  data: uPlot.AlignedData;
  yFmt: (v: number) => string;
  y2Fmt?: (v: number) => string;
  y2Label?: string;
  yLabel?: string;
  /** legend values to show instead of the drawn ones (stacked series) */
  legendData?: (ArrayLike<number | null> | null | undefined)[];
  xLabels?: string[];
  xTicks?: number[];
  /** step-shaped lines (gauges such as worker counts) */
  stepped?: boolean;
}

export const SYNC_KEY = "barrage-time";
const HEIGHT = 220;
export const PRINT_WIDTH = 1000;

export const PALETTE = ["#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d", "#7c3aed", "#0d9488"];

export function colorAt(i: number): string {
  return PALETTE[i % PALETTE.length]!;
}

/** Status codes coloured by class: 2xx green, 3xx blue, 4xx orange, 5xx red. */
export function statusColor(code: string, i: number): string {
  const shades: Record<string, string[]> = {
    "2": ["#16a34a", "#15803d", "#4ade80"],
    "3": ["#2563eb", "#1d4ed8", "#60a5fa"],
    "4": ["#ea580c", "#c2410c", "#fb923c", "#ca8a04"],
    "5": ["#dc2626", "#991b1b", "#f87171", "#db2777"],
  };
  const set = shades[code[0] ?? ""];
  return set ? set[i % set.length]! : colorAt(i);
}

export function eventColor(kind: string): string {
  switch (kind) {
    case "aborted":
    case "shard_failed":
    case "worker_lost":
    case "measurement_gap":
      return "#dc2626";
    case "ramp":
      return "#2563eb";
    case "finished":
    case "overdue":
      return "#4b5563";
    default:
      return "#9ca3af";
  }
}

const TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

/** Vertical lines at the events' times, drawn on every time chart. */
function eventMarkers(events: () => readonly RunEvent[]): uPlot.Plugin {
  return {
    hooks: {
      draw: [
        (u: uPlot) => {
          const list = events();
          if (!list.length) return;
          const ctx = u.ctx;
          const { left, top, width, height } = u.bbox;
          const [lo, hi] = [u.scales.x!.min ?? 0, u.scales.x!.max ?? 0];
          ctx.save();
          ctx.lineWidth = Math.max(1, uPlot.pxRatio);
          ctx.setLineDash([4 * uPlot.pxRatio, 3 * uPlot.pxRatio]);
          for (const ev of list) {
            if (ev.t < lo || ev.t > hi) continue;
            const x = Math.round(u.valToPos(ev.t, "x", true));
            if (x < left || x > left + width) continue;
            ctx.strokeStyle = eventColor(ev.kind);
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + height);
            ctx.stroke();
          }
          ctx.restore();
        },
      ],
    },
  };
}

// A chart is built again, not only given new data, when anything its
// options capture changes: its series, and the ticks and labels of its x
// axis (histogram buckets, the percentile span).
function signature(spec: ChartSpec): string {
  return [spec.kind, spec.stepped ? "s" : "", (spec.xLabels ?? []).join("|"), (spec.xTicks ?? []).join("|"), ...spec.series.map((s) => `${s.label}|${s.scale ?? "y"}|${s.stroke}`)].join("\n");
}

export interface ChartEnv {
  /** fixed width (report files and print), else the container's width */
  fixedWidth?: number;
  events: () => readonly RunEvent[];
}

// Charts far below the viewport are drawn when they come near it (a long
// report has some 30): the first view is drawn at once, the rest as one
// scrolls, and all of them before printing (beforeprint, or
// window.__barrageDrawAll(), which the PDF printer and tests call).
const LAZY_MARGIN = 600;
const deferred = new Set<ChartHandle>();
let observer: IntersectionObserver | null = null;

function lazyObserver(): IntersectionObserver | null {
  if (!observer && typeof IntersectionObserver !== "undefined") {
    observer = new IntersectionObserver(
      (entries) => {
        for (const e of entries) {
          if (!e.isIntersecting) continue;
          for (const c of deferred) if (c.el === e.target) c.drawNow();
        }
      },
      { rootMargin: `${LAZY_MARGIN}px 0px` },
    );
  }
  return observer;
}

/** Draws every chart not drawn yet. */
export function drawAll(): void {
  for (const c of [...deferred]) c.drawNow();
}

if (typeof window !== "undefined") {
  (window as unknown as { __barrageDrawAll: () => void }).__barrageDrawAll = drawAll;
  window.addEventListener("beforeprint", drawAll);
}

/** One chart in a `<div class="chart" data-chart=NAME>`. */
export class ChartHandle {
  readonly el: HTMLDivElement;
  private plot: uPlot | null = null;
  private sig = "";
  private spec: ChartSpec | null = null;
  private forced = false;

  constructor(
    name: string,
    private env: ChartEnv,
  ) {
    this.el = document.createElement("div");
    this.el.className = "chart";
    this.el.dataset.chart = name;
  }

  width(): number {
    if (this.env.fixedWidth) return this.env.fixedWidth;
    const w = this.el.clientWidth || this.el.parentElement?.clientWidth || 0;
    return w > 100 ? w : PRINT_WIDTH;
  }

  /** Whether the chart is near enough the viewport to draw now. */
  private near(): boolean {
    if (this.forced || !lazyObserver() || window.matchMedia?.("print").matches) return true;
    // Not in the page (yet): the observer draws it once it is there and near.
    if (!this.el.isConnected) return false;
    const r = this.el.getBoundingClientRect();
    return r.top < window.innerHeight + LAZY_MARGIN && r.bottom > -LAZY_MARGIN;
  }

  /** Draws the chart now if it waits to come into view. */
  drawNow(): void {
    this.forced = true;
    deferred.delete(this);
    observer?.unobserve(this.el);
    this.el.style.minHeight = "";
    if (this.spec && !this.plot) this.set(this.spec);
  }

  set(spec: ChartSpec): void {
    this.spec = spec;
    const sig = signature(spec);
    if (this.plot && sig === this.sig) {
      this.plot.setData(spec.data);
      return;
    }
    if (!this.plot && !this.near()) {
      // Keep its place, so that what is below does not move when it draws.
      this.el.style.minHeight = `${HEIGHT + 48}px`;
      if (!deferred.has(this)) {
        deferred.add(this);
        lazyObserver()?.observe(this.el);
      }
      return;
    }
    this.plot?.destroy();
    this.sig = sig;
    this.plot = new uPlot(this.options(spec), spec.data, this.el);
  }

  resize(): void {
    if (!this.plot) return;
    const w = this.width();
    if (Math.abs(w - this.plot.width) > 1) this.plot.setSize({ width: w, height: HEIGHT });
  }

  redraw(): void {
    this.plot?.redraw(false, false);
  }

  destroy(): void {
    deferred.delete(this);
    observer?.unobserve(this.el);
    this.plot?.destroy();
    this.plot = null;
    this.el.remove();
  }

  private legendValue(fmt: (v: number) => string) {
    return (_u: uPlot, v: number | null, sidx: number, idx: number | null): string => {
      const ld = this.spec?.legendData?.[sidx];
      const val = ld && idx != null ? ld[idx] : v;
      return val == null || !Number.isFinite(val) ? "—" : fmt(val);
    };
  }

  private options(spec: ChartSpec): uPlot.Options {
    const bars = uPlot.paths.bars!({ size: [0.85, 80], align: 0 });
    const stepped = uPlot.paths.stepped!({ align: 1 });
    const series: uPlot.Series[] = [
      spec.kind === "time"
        ? { label: "time", value: (_u, v) => (v == null ? "—" : fmtT(v)) }
        : spec.kind === "nines"
          ? { label: "percentile", value: (_u, v) => (v == null ? "—" : fmtNines(v)) }
          : { label: "bucket", value: (_u, v) => (v == null ? "—" : (spec.xLabels?.[Math.round(v)] ?? "")) },
    ];
    for (const s of spec.series) {
      const fmt = s.scale === "y2" && spec.y2Fmt ? spec.y2Fmt : spec.yFmt;
      series.push({
        label: s.label,
        stroke: s.stroke,
        fill: s.fill,
        width: s.width ?? 1.5,
        dash: s.dash,
        scale: s.scale ?? "y",
        spanGaps: false,
        points: { show: s.points ?? false, size: 4 },
        paths: s.bars ? bars : spec.stepped ? stepped : undefined,
        value: this.legendValue(fmt),
      });
    }
    const axisFont = "11px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
    const grid = { stroke: "#e5e7eb", width: 1 };
    const ticks = { stroke: "#d1d5db", width: 1, size: 4 };
    const xAxis: uPlot.Axis = { font: axisFont, grid, ticks, stroke: "#4b5563" };
    if (spec.kind === "time") {
      xAxis.incrs = TIME_INCRS;
      xAxis.values = (_u, splits) => splits.map((v) => fmtT(v));
    } else if (spec.kind === "nines") {
      const tk = spec.xTicks ?? [0, 1, 2, 3];
      xAxis.splits = () => tk;
      xAxis.values = (_u, splits) => splits.map((v) => ninesLabel(v));
    } else {
      const labels = spec.xLabels ?? [];
      xAxis.splits = () => labels.map((_l, i) => i);
      xAxis.values = (_u, splits) => splits.map((v, k) => (labels.length > 12 && k % 2 ? "" : (labels[Math.round(v)] ?? "").replace("≤ ", "")));
    }
    const axes: uPlot.Axis[] = [
      xAxis,
      { font: axisFont, grid, ticks, stroke: "#4b5563", size: 64, label: spec.yLabel, labelFont: axisFont, labelSize: spec.yLabel ? 16 : 0, values: (_u, splits) => splits.map((v) => spec.yFmt(v)) },
    ];
    const scales: uPlot.Scales = { x: { time: false }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] } };
    if (spec.kind === "bars") scales.x = { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] };
    if (spec.kind === "nines") scales.x = { time: false, range: (_u, _min, max) => [0, Math.max(1, Math.ceil(max - 1e-9))] };
    if (spec.series.some((s) => s.scale === "y2")) {
      scales.y2 = { range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] };
      axes.push({ scale: "y2", side: 1, font: axisFont, grid: { show: false }, ticks, stroke: "#4b5563", size: 64, label: spec.y2Label, labelFont: axisFont, labelSize: spec.y2Label ? 16 : 0, values: (_u, splits) => splits.map((v) => (spec.y2Fmt ?? spec.yFmt)(v)) });
    }
    const opts: uPlot.Options = {
      width: this.width(),
      height: HEIGHT,
      series,
      axes,
      scales,
      legend: { show: true, live: true },
      cursor: spec.kind === "time" ? { sync: { key: SYNC_KEY }, drag: { x: true, y: false } } : { drag: { x: false, y: false } },
      plugins: spec.kind === "time" ? [eventMarkers(this.env.events)] : [],
    };
    return opts;
  }
}

function fmtNines(x: number): string {
  const p = 100 * (1 - 10 ** -x);
  return fmtNum(p, 6) + "%";
}

/** Watches chart containers and resizes their plots (console mode). */
export class ChartResizer {
  private ro: ResizeObserver | null = null;
  private handles = new Set<ChartHandle>();
  private pending = false;

  constructor() {
    if (typeof ResizeObserver !== "undefined") {
      this.ro = new ResizeObserver(() => {
        if (this.pending) return;
        this.pending = true;
        requestAnimationFrame(() => {
          this.pending = false;
          for (const c of this.handles) c.resize();
        });
      });
    }
  }

  watch(c: ChartHandle): void {
    this.handles.add(c);
    this.ro?.observe(c.el);
  }

  unwatch(c: ChartHandle): void {
    this.handles.delete(c);
    this.ro?.unobserve(c.el);
  }

  disconnect(): void {
    this.ro?.disconnect();
    this.handles.clear();
  }
}
