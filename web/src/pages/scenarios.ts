// Scenarios: the list, and one scenario with its versions, a start-run form
// and its runs.

import { api, enc, errorText } from "../api";
import type { PageCtx } from "../app";
import { h } from "../dom";
import { fmtDate } from "../format";
import type { Run, RunList, ScenarioRef, StoredScenario } from "../types";
import { LIVE_STATUSES, runsTable } from "./runs";

const PAGE = 50;

export async function scenariosPage(ctx: PageCtx): Promise<void> {
  const offset = Math.max(0, parseInt(ctx.params.get("offset") ?? "0", 10) || 0);
  const list = await api<{ scenarios: ScenarioRef[] }>(`/scenarios?limit=${PAGE}&offset=${offset}`);
  const rows = (list.scenarios ?? []).map((s) =>
    h(
      "tr",
      { "data-scenario-id": s.scenario_id },
      h("td", null, h("a", { href: `/ui/scenarios/${enc(s.scenario_id)}` }, s.name)),
      h("td", null, h("code", null, s.scenario_id)),
      h("td", { class: "num" }, String(s.version)),
      h("td", null, fmtDate(s.created_at)),
    ),
  );
  const table = h(
    "table",
    { class: "data", "data-testid": "scenarios-table" },
    h("thead", null, h("tr", null, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "ID"), h("th", { scope: "col", class: "num" }, "Version"), h("th", { scope: "col" }, "Updated"))),
    h("tbody", null, rows),
  );
  const pager = h(
    "div",
    { class: "pager" },
    offset > 0 ? h("a", { class: "button", href: `/ui/scenarios?offset=${Math.max(0, offset - PAGE)}`, "data-testid": "prev-page" }, "← Previous") : null,
    (list.scenarios ?? []).length === PAGE ? h("a", { class: "button", href: `/ui/scenarios?offset=${offset + PAGE}`, "data-testid": "next-page" }, "Next page →") : null,
  );
  ctx.el.append(h("main", { class: "list-page", "data-testid": "scenarios-page" }, h("h1", null, "Scenarios"), rows.length ? null : h("p", { class: "note" }, "No scenarios stored yet. Create one with barrage scenario create or POST /scenarios."), h("div", { class: "table-wrap" }, table), pager));
}

/** "k=v,k2=v2" → {k: v, k2: v2}; throws on a malformed pair. */
export function parseTags(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split(",")) {
    const p = part.trim();
    if (!p) continue;
    const i = p.indexOf("=");
    if (i <= 0) throw new Error(`tag "${p}" is not key=value`);
    out[p.slice(0, i).trim()] = p.slice(i + 1).trim();
  }
  return out;
}

function startForm(ctx: PageCtx, scenarioId: string): HTMLElement {
  const target = h("input", { "data-testid": "start-target", type: "url", placeholder: "http://127.0.0.1:8080", "aria-label": "target base URL" });
  const workers = h("input", { "data-testid": "start-workers", type: "number", min: "0", max: "1000", value: "1", "aria-label": "workers" });
  const tags = h("input", { "data-testid": "start-tags", placeholder: "env=staging,build=123", "aria-label": "tags" });
  const overrides = h("textarea", { "data-testid": "start-overrides", rows: 4, placeholder: '{"virtual_users": 50}', "aria-label": "overrides (JSON)" });
  const submit = h("button", { type: "submit", "data-testid": "start-submit", class: "primary" }, "Start run");
  const err = h("p", { class: "error", role: "alert", "data-testid": "start-error", hidden: true });
  const form = h(
    "form",
    { class: "start-form", novalidate: true },
    h("label", null, "Target base URL", target),
    h("label", null, "Workers", workers),
    h("label", null, "Tags (k=v,k=v)", tags),
    h("label", { class: "wide" }, "Overrides (JSON object of scenario fields)", overrides),
    h("div", { class: "wide" }, submit),
    err,
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void (async () => {
      err.hidden = true;
      const body: Record<string, unknown> = { scenario_id: scenarioId };
      try {
        if (target.value.trim()) body.target_base_url = target.value.trim();
        if (workers.value.trim()) body.worker_count = Number(workers.value);
        body.tags = parseTags(tags.value);
        if (overrides.value.trim()) {
          const o: unknown = JSON.parse(overrides.value);
          if (!o || typeof o !== "object" || Array.isArray(o)) throw new Error("overrides must be a JSON object");
          body.overrides = o;
        }
      } catch (e) {
        err.textContent = errorText(e);
        err.hidden = false;
        return;
      }
      submit.disabled = true;
      try {
        const run = await api<Run>("/runs", { method: "POST", body });
        ctx.navigate(`/ui/runs/${enc(run.run_id)}`);
      } catch (e) {
        err.textContent = errorText(e);
        err.hidden = false;
      } finally {
        submit.disabled = false;
      }
    })();
  });
  return form;
}

export async function scenarioPage(ctx: PageCtx, id: string): Promise<void> {
  const latest = await api<StoredScenario>(`/scenarios/${enc(id)}`);
  const wanted = parseInt(ctx.params.get("version") ?? "", 10);
  const sc = wanted > 0 && wanted !== latest.version ? await api<StoredScenario>(`/scenarios/${enc(id)}?version=${wanted}`) : latest;
  // Never the raw document: it is not redacted.
  const text = sc.yaml ?? "(This server did not send the scenario as redacted YAML, so it is not shown.)";
  const versions = h("ol", { class: "versions", "data-testid": "versions", reversed: true });
  for (let v = latest.version; v >= 1; v--) {
    const label = v === latest.version ? `version ${v} (latest)` : `version ${v}`;
    versions.appendChild(h("li", { value: v }, v === sc.version ? h("strong", { "aria-current": "page" }, label) : h("a", { href: `/ui/scenarios/${enc(id)}?version=${v}` }, label)));
  }
  const runsHolder = h("div", { class: "table-wrap" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  ctx.onDispose(() => clearTimeout(timer));
  const loadRuns = async () => {
    try {
      const list = await api<RunList>(`/runs?scenario_id=${enc(id)}&limit=20`);
      if (!ctx.alive()) return;
      runsHolder.replaceChildren(runsTable(list.runs ?? []));
      if (!list.runs?.length) runsHolder.appendChild(h("p", { class: "note" }, "No runs of this scenario yet."));
      if (list.runs?.some((r) => LIVE_STATUSES.includes(r.status))) timer = setTimeout(() => void loadRuns(), 2000);
    } catch (e) {
      if (ctx.alive()) runsHolder.replaceChildren(h("p", { class: "error" }, errorText(e)));
    }
  };
  ctx.el.append(
    h(
      "main",
      { class: "scenario-page", "data-testid": "scenario-page", "data-scenario-id": id },
      h("header", { class: "run-header" }, h("div", { class: "title-row" }, h("h1", null, sc.name)), h("dl", { class: "meta" }, h("div", null, h("dt", null, "ID"), h("dd", null, h("code", null, sc.scenario_id))), h("div", null, h("dt", null, "Version"), h("dd", null, String(sc.version))), h("div", null, h("dt", null, "Created"), h("dd", null, fmtDate(sc.created_at))))),
      h("section", { class: "card controls" }, h("h2", null, "Start a run (latest version)"), startForm(ctx, id)),
      h("div", { class: "split" }, h("section", { class: "card" }, h("h2", null, "Scenario (YAML)"), h("pre", { class: "yaml", "data-testid": "scenario-yaml" }, text)), h("section", { class: "card narrow" }, h("h2", null, "Versions"), versions)),
      h("section", { class: "card" }, h("h2", null, "Runs"), runsHolder),
    ),
  );
  await loadRuns();
}
