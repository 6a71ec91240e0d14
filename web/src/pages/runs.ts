// The runs list: filters, pagination by cursor, polling while runs are live.

import { api, enc, errorText } from "../api";
import type { PageCtx } from "../app";
import { h, type Child } from "../dom";
import { fmtDate, fmtDuration, fmtInt, fmtMs, fmtPct, fmtRate, secondsBetween } from "../format";
import type { Run, RunList } from "../types";

export const LIVE_STATUSES = ["queued", "running"];
const STATUSES = ["queued", "running", "completed", "failed", "aborted"];

export function statusBadge(status: string, testid?: string): HTMLElement {
  return h("span", { class: `badge status s-${/^[a-z]+$/.test(status) ? status : "unknown"}`, "data-testid": testid }, status);
}

function verdictCell(r: Run): Child {
  const p = r.summary?.thresholds_passed;
  if (p === undefined) return "—";
  return p ? h("span", { class: "badge ok" }, "passed") : h("span", { class: "badge bad" }, "failed");
}

/** The runs table; `selected` (run IDs) adds a compare checkbox per row. */
export function runsTable(runs: readonly Run[], selected?: Set<string>, onSelect?: () => void): HTMLElement {
  const head = ["", "Run", "Scenario", "Status", "Started", "Duration", "Requests", "Req/s", "p95", "Errors", "Thresholds", "Tags"];
  const rows = runs.map((r) => {
    const end = r.ended_at ?? (LIVE_STATUSES.includes(r.status) ? new Date().toISOString() : undefined);
    const dur = secondsBetween(r.started_at, end);
    const s = r.summary;
    const box = selected
      ? h("input", {
          type: "checkbox",
          "aria-label": "select for comparison",
          checked: selected.has(r.run_id),
          onchange: (ev: Event) => {
            if ((ev.target as HTMLInputElement).checked) selected.add(r.run_id);
            else selected.delete(r.run_id);
            onSelect?.();
          },
        })
      : null;
    return h(
      "tr",
      { "data-run-id": r.run_id, "data-status": r.status },
      h("td", null, box),
      h(
        "td",
        null,
        h("a", { href: `/ui/runs/${enc(r.run_id)}` }, h("code", null, r.run_id)),
        r.schedule_id
          ? h(
              "div",
              { class: "sub", "data-testid": "scheduled" },
              h("a", { href: "/ui/schedules" }, "scheduled"),
              r.thresholds_failed ? h("span", { class: "badge bad", "data-testid": "scheduled-failed" }, "failed its thresholds") : null,
            )
          : null,
      ),
      h("td", null, h("a", { href: `/ui/scenarios/${enc(r.scenario_id)}` }, r.scenario_name || r.scenario_id)),
      h("td", null, statusBadge(r.status), r.reason ? h("div", { class: "sub" }, r.reason) : null),
      h("td", null, fmtDate(r.started_at ?? r.created_at)),
      h("td", { class: "num" }, dur == null ? "—" : fmtDuration(dur)),
      h("td", { class: "num" }, s ? fmtInt(s.requests) : "—"),
      h("td", { class: "num" }, s ? fmtRate(s.rps) : "—"),
      h("td", { class: "num" }, s ? fmtMs(s.p95_ms) : "—"),
      h("td", { class: "num" }, s ? fmtPct(s.error_rate) : "—"),
      h("td", null, verdictCell(r)),
      h("td", null, Object.entries(r.tags ?? {}).map(([k, v]) => h("span", { class: "tag" }, `${k}=${v}`))),
    );
  });
  return h(
    "table",
    { class: "data", "data-testid": "runs-table" },
    h("thead", null, h("tr", null, head.map((t, i) => h("th", { scope: "col", class: i >= 5 && i <= 9 ? "num" : null }, t)))),
    h("tbody", null, rows),
  );
}

export async function runsPage(ctx: PageCtx): Promise<void> {
  const p = ctx.params;
  const status = h("select", { "data-testid": "filter-status", "aria-label": "status" }, h("option", { value: "" }, "any status"), STATUSES.map((s) => h("option", { value: s }, s)));
  status.value = STATUSES.includes(p.get("status") ?? "") ? p.get("status")! : "";
  const scenario = h("input", { "data-testid": "filter-scenario", placeholder: "scenario ID", value: p.get("scenario_id") ?? "", "aria-label": "scenario ID" });
  const tag = h("input", { "data-testid": "filter-tag", placeholder: "tag key=value", value: p.get("tag") ?? "", "aria-label": "tag" });
  const holder = h("div", { class: "table-wrap" });
  const err = h("p", { class: "error", role: "alert", hidden: true });
  const next = h("button", { type: "button", "data-testid": "next-page", disabled: true }, "Next page →");
  const first = h("button", { type: "button", "data-testid": "first-page", hidden: !p.get("before") }, "← Newest");
  const compareBtn = h("button", { type: "button", "data-testid": "compare-selected", disabled: true }, "Compare selected");
  const selected = new Set<string>();
  let nextCursor = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  let runs: Run[] = [];
  ctx.onDispose(() => clearTimeout(timer));

  const query = (before: string) => {
    const q = new URLSearchParams();
    if (status.value) q.set("status", status.value);
    if (scenario.value.trim()) q.set("scenario_id", scenario.value.trim());
    if (tag.value.trim()) q.set("tag", tag.value.trim());
    if (before) q.set("before", before);
    return q;
  };
  const before = () => ctx.params.get("before") ?? "";

  const onSelect = () => {
    compareBtn.disabled = selected.size !== 2;
  };
  const render = () => {
    holder.replaceChildren(runs.length ? runsTable(runs, selected, onSelect) : h("p", { class: "note", "data-testid": "runs-empty" }, "No runs match."));
    if (!runs.length) holder.appendChild(runsTable([], selected));
    next.disabled = !nextCursor;
  };
  const load = async () => {
    clearTimeout(timer);
    const q = query(before());
    q.set("limit", "20");
    try {
      const list = await api<RunList>(`/runs?${q}`);
      if (!ctx.alive()) return;
      runs = list.runs ?? [];
      nextCursor = list.next ?? "";
      err.hidden = true;
      render();
    } catch (e) {
      if (!ctx.alive()) return;
      err.textContent = errorText(e);
      err.hidden = false;
    }
    if (ctx.alive() && runs.some((r) => LIVE_STATUSES.includes(r.status))) timer = setTimeout(() => void load(), 2000);
  };
  const applyFilters = () => {
    ctx.params = query("");
    const qs = ctx.params.toString();
    history.replaceState(null, "", `/ui/${qs ? "?" + qs : ""}`);
    first.hidden = true;
    void load();
  };
  let debounce: ReturnType<typeof setTimeout> | undefined;
  const onType = () => {
    clearTimeout(debounce);
    debounce = setTimeout(applyFilters, 300);
  };
  status.addEventListener("change", applyFilters);
  scenario.addEventListener("input", onType);
  tag.addEventListener("input", onType);
  for (const input of [scenario, tag]) input.addEventListener("keydown", (ev) => ev.key === "Enter" && (clearTimeout(debounce), applyFilters()));
  next.addEventListener("click", () => {
    if (!nextCursor) return;
    ctx.params = query(nextCursor);
    history.pushState(null, "", `/ui/?${ctx.params}`);
    first.hidden = false;
    void load();
  });
  first.addEventListener("click", applyFilters);
  compareBtn.addEventListener("click", () => {
    const ids = runs.filter((r) => selected.has(r.run_id)).map((r) => r.run_id);
    if (ids.length !== 2) return;
    // The list is newest first: the older run is the base.
    ctx.navigate(`/ui/compare?base=${enc(ids[1]!)}&head=${enc(ids[0]!)}`);
  });

  ctx.el.append(
    h("main", { class: "list-page", "data-testid": "runs-page" }, h("h1", null, "Runs"), h("div", { class: "filters" }, status, scenario, tag, compareBtn), err, holder, h("div", { class: "pager" }, first, next)),
  );
  await load();
}
