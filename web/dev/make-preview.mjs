#!/usr/bin/env node
// Writes dev/preview-<kind>.html: a report file laid out the way the Go side
// writes one (dist/app.css and dist/app.js inlined, the data as base64 of
// gzipped JSON in #barrage-data), from a synthetic report. Run `npm run
// build` first; open the result in a browser (file://).
//
//   node dev/make-preview.mjs [kind...]   kinds: basic xss empty errors legacy baseline hour single
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { createHash } from "node:crypto";
import { compareReportsJs } from "./compare.mjs";
import { makeReport } from "../test/gen-report.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "..", "dist");

const kinds = {
  basic: () => ({ report: makeReport({ seconds: 120, workers: 3, steps: 3 }) }),
  xss: () => ({ report: makeReport({ seconds: 30, workers: 2, steps: 2, name: "</script><img src=x onerror=alert(1)>" }) }),
  empty: () => ({ report: makeReport({ seconds: 0, workers: 1, steps: 1, status: "failed" }) }),
  errors: () => ({ report: makeReport({ seconds: 20, workers: 1, steps: 2, errorsOnly: true, status: "failed" }) }),
  legacy: () => ({ report: makeReport({ seconds: 60, workers: 2, steps: 2, legacy: true }) }),
  single: () => ({ report: makeReport({ seconds: 1, workers: 1, steps: 1 }) }),
  hour: () => ({ report: makeReport({ seconds: 3600, workers: 20, steps: 10 }) }),
  baseline: () => {
    const baseline = makeReport({ seconds: 100, workers: 3, steps: 3, seed: 7, runId: "run_20261127T101010_aaaaaaaaaa" });
    const report = makeReport({ seconds: 110, workers: 3, steps: 3, seed: 8, slower: 1.25 });
    report.baseline_run_id = baseline.run_id;
    return { report, baseline, comparison: compareReportsJs(baseline, report) };
  },
};

const css = readFileSync(join(dist, "app.css"), "utf8");
const js = readFileSync(join(dist, "app.js"), "utf8");
// The Content-Security-Policy reports/html.go sets: no request of any kind.
const csp = `default-src 'none'; script-src 'sha256-${createHash("sha256").update(js).digest("base64")}'; style-src 'unsafe-inline'; img-src data: blob:; font-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'`;
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(kinds);
for (const kind of wanted) {
  const make = kinds[kind];
  if (!make) throw new Error(`unknown kind ${kind}`);
  const data = { baseline: null, comparison: null, ...make(), generated_at: "2026-11-28T07:00:00Z" };
  const b64 = gzipSync(Buffer.from(JSON.stringify(data))).toString("base64");
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<title>Barrage report</title>
<style>${css}</style>
</head><body>
<div id="app"></div>
<script type="application/json" id="barrage-data">${b64}</script>
<script>${js}</script>
</body></html>
`;
  const out = join(here, `preview-${kind}.html`);
  writeFileSync(out, html);
  console.log(out);
}
