// A run's response samples and slowest traced requests, per step. Text
// only: a sample's body and headers come from the target.

import { h, note } from "./dom";
import { fmtMs } from "./format";
import { table } from "./tables";
import type { ResponseSample, SlowTrace, StepReport } from "./types";

function sampleEl(s: ResponseSample): HTMLElement {
  const what = s.status ? `status ${s.status}` : (s.error ?? "no response");
  const headers = Object.entries(s.headers ?? {})
    .map(([k, v]) => `${k}: ${v}`)
    .join("\n");
  const text = s.partial ? "(the failure came before the step captured responses: status and class only)" : [headers, s.body + (s.truncated ? "\n…" : "")].filter((x) => x).join("\n\n");
  return h("details", { class: "sample", "data-class": s.class }, h("summary", null, `${s.class} · ${what} · shard ${s.shard}`), h("pre", null, text));
}

function tracesTable(traces: readonly SlowTrace[]): HTMLElement {
  return table(
    null,
    ["Trace ID", "Span ID", "Latency", "Status", "Shard"],
    traces.map((t) => [h("code", null, t.trace_id), h("code", null, t.span_id), fmtMs(t.latency_ms), t.status ? String(t.status) : (t.class ?? "—"), String(t.shard)]),
    [2, 3, 4],
  );
}

/** The section's content: for each step with any, its samples and slowest traces. */
export function observations(steps: readonly StepReport[]): HTMLElement[] {
  const out: HTMLElement[] = [];
  for (const s of steps) {
    const samples = s.samples ?? [];
    const traces = s.slowest_traces ?? [];
    if (!samples.length && !traces.length) continue;
    out.push(
      h(
        "div",
        { class: "step-observations", "data-step": s.name },
        h("h3", null, s.name),
        samples.length ? h("div", { "data-testid": "samples" }, samples.map(sampleEl)) : null,
        traces.length ? h("div", { "data-testid": "slowest-traces" }, h("h4", null, "Slowest traced requests"), tracesTable(traces)) : null,
      ),
    );
  }
  return out.length ? out : [note("No failed-response samples or traced requests.")];
}
