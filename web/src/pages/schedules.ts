// The schedules list: each schedule's timing, next firing, newest run and
// its verdict, with pause, resume and delete. Polls while it is open.

import { api, enc, errorText } from "../api";
import type { PageCtx } from "../app";
import { h, isHttpUrl, type Child } from "../dom";
import { fmtDate } from "../format";
import type { Schedule } from "../types";
import { statusBadge } from "./runs";

function lastRunCell(s: Schedule): Child {
  const r = s.last_run;
  if (!r) return "—";
  return [
    h("a", { href: `/ui/runs/${enc(r.run_id)}` }, h("code", null, r.run_id)),
    " ",
    statusBadge(r.status),
    r.thresholds_failed ? h("span", { class: "badge bad", "data-testid": "last-run-failed" }, "failed its thresholds") : null,
  ];
}

function schedulesTable(list: readonly Schedule[], act: (s: Schedule, verb: "pause" | "resume" | "delete") => void): HTMLElement {
  const head = ["Schedule", "Scenario", "When", "Target", "State", "Next firing", "Last run", ""];
  const rows = list.map((s) =>
    h(
      "tr",
      { "data-schedule-id": s.schedule_id, "data-paused": String(s.paused) },
      h(
        "td",
        null,
        h("code", null, s.schedule_id),
        isHttpUrl(s.temporal_ui_url) ? h("div", { class: "sub" }, h("a", { href: s.temporal_ui_url, target: "_blank", rel: "noopener" }, "in Temporal")) : null,
      ),
      h("td", null, h("a", { href: `/ui/scenarios/${enc(s.scenario_id)}` }, s.scenario_id)),
      h("td", null, s.cron ? h("code", null, s.cron) : `every ${s.every ?? "?"}`),
      h("td", null, s.target_base_url ?? "—"),
      h("td", null, s.paused ? h("span", { class: "badge bad", "data-testid": "paused" }, "paused") : h("span", { class: "badge ok" }, "active")),
      h("td", null, s.next_run_at ? fmtDate(s.next_run_at) : "—"),
      h("td", null, lastRunCell(s)),
      h(
        "td",
        null,
        h("button", { type: "button", "data-testid": s.paused ? "resume" : "pause", onclick: () => act(s, s.paused ? "resume" : "pause") }, s.paused ? "Resume" : "Pause"),
        " ",
        h("button", { type: "button", "data-testid": "delete", onclick: () => act(s, "delete") }, "Delete"),
      ),
    ),
  );
  return h("table", { class: "data", "data-testid": "schedules-table" }, h("thead", null, h("tr", null, head.map((t) => h("th", { scope: "col" }, t)))), h("tbody", null, rows));
}

export async function schedulesPage(ctx: PageCtx): Promise<void> {
  const holder = h("div", { class: "table-wrap" });
  const err = h("p", { class: "error", role: "alert", hidden: true, "data-testid": "schedules-error" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  ctx.onDispose(() => clearTimeout(timer));

  const act = (s: Schedule, verb: "pause" | "resume" | "delete") => {
    if (verb === "delete" && !confirm(`Delete schedule ${s.schedule_id}? Its runs stay.`)) return;
    const req = verb === "delete" ? api(`/schedules/${enc(s.schedule_id)}`, { method: "DELETE" }) : api(`/schedules/${enc(s.schedule_id)}/${verb}`, { method: "POST" });
    req.then(
      () => void load(),
      (e: unknown) => {
        err.textContent = errorText(e);
        err.hidden = false;
      },
    );
  };
  const load = async () => {
    clearTimeout(timer);
    try {
      const { schedules } = await api<{ schedules: Schedule[] }>("/schedules");
      if (!ctx.alive()) return;
      err.hidden = true;
      holder.replaceChildren(
        schedules.length
          ? schedulesTable(schedules, act)
          : h("p", { class: "note", "data-testid": "schedules-empty" }, "No schedules. Create one with ", h("code", null, "barrage schedules create"), " or POST /schedules."),
      );
    } catch (e) {
      if (!ctx.alive()) return;
      err.textContent = errorText(e);
      err.hidden = false;
    }
    if (ctx.alive()) timer = setTimeout(() => void load(), 5000);
  };
  ctx.el.append(h("main", { class: "list-page", "data-testid": "schedules-page" }, h("h1", null, "Schedules"), err, holder));
  await load();
}
