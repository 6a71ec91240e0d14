// Compare two runs: Δ per metric and per step, and overlaid charts.

import { api, enc } from "../api";
import type { PageCtx } from "../app";
import { ChartResizer, type ChartEnv } from "../charts";
import { overlayCharts } from "../chartspecs";
import { h } from "../dom";
import { ChartGroup } from "../runview";
import { decimate, shapeSeries } from "../shape";
import { compareStepsTable, compareTable, thresholdsTable } from "../tables";
import type { Comparison, Report } from "../types";
import { statusBadge } from "./runs";

function pickForm(ctx: PageCtx): HTMLElement {
  const base = h("input", { "data-testid": "compare-base", placeholder: "base run ID", value: ctx.params.get("base") ?? "", "aria-label": "base run ID" });
  const head = h("input", { "data-testid": "compare-head", placeholder: "head run ID", value: ctx.params.get("head") ?? "", "aria-label": "head run ID" });
  const form = h("form", { class: "filters" }, base, head, h("button", { type: "submit", class: "primary", "data-testid": "compare-submit" }, "Compare"));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    ctx.navigate(`/ui/compare?base=${enc(base.value.trim())}&head=${enc(head.value.trim())}`);
  });
  return form;
}

export async function comparePage(ctx: PageCtx): Promise<void> {
  const baseId = ctx.params.get("base") ?? "";
  const headId = ctx.params.get("head") ?? "";
  const main = h("main", { class: "compare-page", "data-testid": "compare-page" }, h("h1", null, "Compare runs"), pickForm(ctx));
  ctx.el.append(main);
  if (!baseId || !headId) {
    main.appendChild(h("p", { class: "note" }, "Pick two runs: the base (before) and the head (after). The runs list can also select two runs to compare."));
    return;
  }
  const [cmp, base, head] = await Promise.all([
    api<Comparison>(`/runs/compare?base=${enc(baseId)}&head=${enc(headId)}`),
    api<Report>(`/runs/${enc(baseId)}/report`).catch(() => null),
    api<Report>(`/runs/${enc(headId)}/report`).catch(() => null),
  ]);
  const ref = (label: string, r: Comparison["base"]) => h("div", { class: "kpi" }, h("div", { class: "kpi-label" }, label), h("div", { class: "kpi-value small" }, h("a", { href: `/ui/runs/${enc(r.run_id)}` }, h("code", null, r.run_id))), h("div", { class: "kpi-sub" }, r.scenario, " ", statusBadge(r.status)));
  const resizer = new ChartResizer();
  ctx.onDispose(() => resizer.disconnect());
  const env: ChartEnv = { events: () => [] };
  const group = new ChartGroup("charts", env, resizer);
  ctx.onDispose(() => group.destroy());
  const section = h("section", { class: "card", "data-section": "compare" }, h("h2", null, "Over time"), group.el);
  main.append(
    h("div", { class: "kpis" }, ref("Base", cmp.base), ref("Head", cmp.head)),
    h("section", { class: "card" }, h("h2", null, "Whole run"), compareTable(cmp)),
    h("section", { class: "card" }, h("h2", null, "Per step"), compareStepsTable(cmp)),
    section,
  );
  if (head) {
    // The head's verdict; its baseline thresholds were evaluated against
    // its own baseline run, which may not be this base.
    const against = head.baseline_run_id
      ? head.baseline_run_id === cmp.base.run_id
        ? "Its baseline thresholds were evaluated against this base run."
        : `Its baseline thresholds were evaluated against its own baseline, ${head.baseline_run_id}, not this base.`
      : "It had no baseline run: its baseline thresholds were not evaluated.";
    main.insertBefore(
      h("section", { class: "card", "data-testid": "compare-thresholds" }, h("h2", null, "Thresholds of the head run"), thresholdsTable(head.thresholds ?? []), h("p", { class: "note" }, against)),
      section,
    );
  }
  if (base && head) group.set(overlayCharts(decimate(shapeSeries(base.series ?? [])), decimate(shapeSeries(head.series ?? [])), "base", "head"));
  else section.appendChild(h("p", { class: "note" }, "The runs' reports could not be loaded, so there are no charts."));
}
