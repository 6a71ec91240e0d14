#!/usr/bin/env node
// Reads an HdrHistogram interval log (Barrage's latency.hlog) with
// hdr-histogram-js — an implementation independent of the Go code that
// wrote it — and prints, as JSON, per tag ("" for untagged lines) every
// interval's count and percentiles and the tag's whole-log totals (all its
// intervals added). Values are as logged (Barrage: microseconds).
//
//   node test/hlog-read.mjs latency.hlog
//
// Used by the Go test internal/fold TestHlogReadByHdrHistogramJS.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const hdr = createRequire(import.meta.url)("hdr-histogram-js");

const QUANTILES = { p0: 0, p50: 50, p90: 90, p95: 95, p99: 99, p999: 99.9, max: 100 };

function figures(h) {
  const out = { count: h.totalCount };
  for (const [name, q] of Object.entries(QUANTILES)) out[name] = h.getValueAtPercentile(q);
  return out;
}

const path = process.argv[2];
if (!path) {
  console.error("usage: node test/hlog-read.mjs FILE.hlog");
  process.exit(2);
}
const reader = new hdr.HistogramLogReader(readFileSync(path, "utf8"));
const intervals = {};
const sums = {};
for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) {
  const tag = h.tag === "NO TAG" ? "" : h.tag; // hdr-histogram-js's name for untagged
  (intervals[tag] ??= []).push({ start_ms: h.startTimeStampMsec, end_ms: h.endTimeStampMsec, ...figures(h) });
  sums[tag] ??= hdr.build({ bitBucketSize: 64, lowestDiscernibleValue: 1, highestTrackableValue: 100_000_000, numberOfSignificantValueDigits: 3 });
  sums[tag].add(h);
}
const totals = Object.fromEntries(Object.entries(sums).map(([tag, h]) => [tag, figures(h)]));
process.stdout.write(JSON.stringify({ intervals, totals }) + "\n");
