// Number, time and unit formatting. Pure: no DOM, no locale surprises
// (fixed en-US grouping, UTC dates) so a report renders the same anywhere.

const intFmt = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function fmtInt(n: number | undefined | null): string {
  if (n == null || !Number.isFinite(n)) return "—";
  return intFmt.format(Math.round(n));
}

/** A number with about 3 significant digits. */
export function fmtNum(n: number | undefined | null, digits = 3): string {
  if (n == null || !Number.isFinite(n)) return "—";
  if (n === 0) return "0";
  const a = Math.abs(n);
  if (a >= 10 ** digits) return fmtInt(n);
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(a)));
  const fixed = n.toFixed(Math.min(decimals, 6));
  return fixed.includes(".") ? fixed.replace(/\.?0+$/, "") : fixed;
}

export function fmtMs(ms: number | undefined | null): string {
  if (ms == null || !Number.isFinite(ms)) return "—";
  if (Math.abs(ms) >= 1000) return fmtNum(ms / 1000) + " s";
  return fmtNum(ms) + " ms";
}

/** A fraction (0.004) as a percentage ("0.4 %"). */
export function fmtPct(frac: number | undefined | null): string {
  if (frac == null || !Number.isFinite(frac)) return "—";
  if (frac === 0) return "0 %";
  return fmtNum(frac * 100) + " %";
}

export function fmtRate(perSec: number | undefined | null): string {
  if (perSec == null || !Number.isFinite(perSec)) return "—";
  return fmtNum(perSec) + "/s";
}

export function fmtBytes(n: number | undefined | null): string {
  if (n == null || !Number.isFinite(n)) return "—";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return fmtNum(v) + " " + units[i];
}

/** Seconds since start as m:ss or h:mm:ss (negative before load started). */
export function fmtT(sec: number): string {
  if (!Number.isFinite(sec)) return "";
  const neg = sec < 0;
  let s = Math.round(Math.abs(sec));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const ss = String(s).padStart(2, "0");
  const body = h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
  return neg ? "-" + body : body;
}

/** A duration in seconds for sentences: "45 s", "2 min 5 s", "1 h 3 min". */
export function fmtDuration(sec: number | undefined | null): string {
  if (sec == null || !Number.isFinite(sec)) return "—";
  if (sec < 60) return fmtNum(sec) + " s";
  const total = Math.round(sec);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h} h ${m} min`;
  return s ? `${m} min ${s} s` : `${m} min`;
}

/** An RFC 3339 time as "2026-11-28 06:22:37 UTC". */
export function fmtDate(iso: string | undefined | null): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$|Z$/, "") + " UTC";
}

/** Seconds between two RFC 3339 times, or undefined. */
export function secondsBetween(from?: string, to?: string): number | undefined {
  if (!from || !to) return undefined;
  const a = Date.parse(from);
  const b = Date.parse(to);
  if (Number.isNaN(a) || Number.isNaN(b)) return undefined;
  return (b - a) / 1000;
}

/** Formats a value in a MetricDelta / comparison unit. */
export function fmtUnit(v: number | undefined | null, unit: string): string {
  switch (unit) {
    case "ms":
      return fmtMs(v);
    case "ratio":
      return fmtPct(v);
    case "1/s":
      return fmtRate(v);
    case "bytes":
      return fmtBytes(v);
    default:
      return fmtNum(v);
  }
}

/** Guesses a threshold expression's unit from its metric ("p95 < 300ms"). */
export function thresholdUnit(expression: string): string {
  const metric = expression.trim().split(/[\s<>=!]/)[0]?.toLowerCase() ?? "";
  if (/^p\d/.test(metric) || metric.includes("latency") || metric === "max" || metric === "min" || metric === "mean" || metric === "avg") return "ms";
  if (metric.includes("rate") && metric !== "rps") return "ratio";
  if (metric === "rps") return "1/s";
  return "count";
}

/** A signed percentage for Δ% ("+12.3 %"). */
export function fmtSignedPct(pct: number | undefined | null): string {
  if (pct == null || !Number.isFinite(pct)) return "—";
  const s = fmtNum(pct) + " %";
  return pct > 0 ? "+" + s : s;
}

export function fmtSigned(v: number | undefined | null, unit: string): string {
  if (v == null || !Number.isFinite(v)) return "—";
  const s = fmtUnit(v, unit);
  return v > 0 ? "+" + s : s;
}
