// The console's run page: the stored report when the run is finished; while
// it runs, the live stream (SSE) drawn with the same RunView, plus controls.

import { ApiError, api, enc, errorText } from "../api";
import { nextFrame, type PageCtx } from "../app";
import { h } from "../dom";
import { PointStore } from "../live";
import { RunView, type RunModel } from "../runview";
import type { Comparison, LivePoint, Report, Run, RunEvent } from "../types";
import { LIVE_STATUSES } from "./runs";

async function finishedModel(run: Run): Promise<RunModel> {
  const report = await api<Report>(`/runs/${enc(run.run_id)}/report`);
  const m: RunModel = { report, run };
  const baseId = run.baseline_run_id || report.baseline_run_id;
  if (baseId) {
    const [baseline, comparison] = await Promise.all([api<Report>(`/runs/${enc(baseId)}/report`).catch(() => null), api<Comparison>(`/runs/compare?base=${enc(baseId)}&head=${enc(run.run_id)}`).catch(() => null)]);
    m.baseline = baseline;
    m.comparison = comparison;
  }
  return m;
}

/** A report for a run that has none yet (queued). */
function placeholderReport(run: Run): Report {
  return { run_id: run.run_id, scenario_id: run.scenario_id, scenario: run.scenario_name, status: run.status, target_base_url: run.target_base_url, worker_count: run.worker_count, started_at: run.started_at, temporal_workflow_id: run.temporal_workflow_id, temporal_ui_url: run.temporal_ui_url, series: [], steps: [], events: [] };
}

function controls(view: RunView, runId: string): { el: HTMLElement; remove(): void } {
  let errEl: HTMLElement | null = null;
  const box = h("div", { class: "card controls live-controls" });
  const showError = (msg: string | null) => {
    errEl?.remove();
    errEl = null;
    if (msg) {
      errEl = h("p", { class: "error", role: "alert", "data-testid": "control-error" }, msg);
      box.appendChild(errEl);
    }
  };
  const info = h("p", { class: "note", "data-testid": "control-info", hidden: true });
  const say = (msg: string) => {
    info.textContent = msg;
    info.hidden = false;
  };

  const reason = h("input", { "data-testid": "abort-reason", placeholder: "reason (optional)", "aria-label": "reason" });
  const confirmBtn = h("button", { type: "button", class: "danger", "data-testid": "confirm-abort" }, "Abort the run");
  const cancelBtn = h("button", { type: "button", "data-testid": "cancel-abort" }, "Cancel");
  const dialog = h("div", { class: "confirm", role: "dialog", "aria-modal": "false", "aria-label": "Confirm abort", "data-testid": "abort-dialog", hidden: true }, h("p", null, "Abort this run? Load stops on every worker; the report keeps what was measured."), reason, confirmBtn, cancelBtn);
  const abortBtn = h("button", { type: "button", class: "danger", "data-testid": "abort" }, "Abort…");
  abortBtn.addEventListener("click", () => {
    dialog.hidden = false;
    reason.focus();
  });
  cancelBtn.addEventListener("click", () => {
    dialog.hidden = true;
  });
  confirmBtn.addEventListener("click", () => {
    confirmBtn.disabled = true;
    void api(`/runs/${enc(runId)}/abort`, { method: "POST", body: { by: "console", reason: reason.value.trim() } })
      .then(() => {
        dialog.hidden = true;
        showError(null);
        say("Abort requested.");
      })
      .catch((e) => showError(errorText(e)))
      .finally(() => {
        confirmBtn.disabled = false;
      });
  });

  const target = h("input", { type: "number", min: "0", step: "any", "data-testid": "ramp-target", placeholder: "target", "aria-label": "target VUs or arrivals/s" });
  const over = h("input", { type: "number", min: "0", step: "any", value: "0", "data-testid": "ramp-over", "aria-label": "over seconds" });
  const rampBtn = h("button", { type: "submit", "data-testid": "ramp-submit" }, "Ramp");
  const ramp = h("form", { class: "ramp", novalidate: true }, h("label", null, "Target (VUs, or arrivals/s)", target), h("label", null, "Over (s)", over), rampBtn);
  ramp.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const t = target.value.trim() === "" ? NaN : Number(target.value);
    const o = over.value.trim() === "" ? 0 : Number(over.value);
    if (!Number.isFinite(t) || !Number.isFinite(o)) {
      showError("Enter the target as a number (and over as seconds).");
      return;
    }
    rampBtn.disabled = true;
    void api(`/runs/${enc(runId)}/ramp`, { method: "POST", body: { target: t, over_seconds: o, by: "console" } })
      .then(() => {
        showError(null);
        say(`Ramp to ${t} over ${o} s requested.`);
      })
      .catch((e) => showError(errorText(e)))
      .finally(() => {
        rampBtn.disabled = false;
      });
  });
  box.append(h("h2", null, "Control"), h("div", { class: "control-row" }, ramp, h("div", null, abortBtn)), dialog, info);
  view.controls.replaceChildren(box);
  return { el: box, remove: () => view.controls.replaceChildren() };
}

export async function runPage(ctx: PageCtx, id: string): Promise<void> {
  const view = new RunView(id);
  ctx.onDispose(() => view.destroy());
  let run = await api<Run>(`/runs/${enc(id)}`);
  if (!LIVE_STATUSES.includes(run.status)) {
    ctx.el.append(view.root);
    view.update(await finishedModel(run));
    return;
  }

  // Live.
  let report: Report = await api<Report>(`/runs/${enc(id)}/report`).catch(() => placeholderReport(run));
  const store = new PointStore();
  let status = run.status;
  let events: readonly RunEvent[] = report.events ?? [];
  let finished = false;
  let es: EventSource | null = null;
  // Pending timers; each removes itself when it fires, so a page left open
  // for hours holds a few, not one per poll.
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (fn: () => void, ms: number) => {
    const id = setTimeout(() => {
      timers.delete(id);
      fn();
    }, ms);
    timers.add(id);
  };
  let frame = 0;
  let frameTimer: ReturnType<typeof setTimeout> | undefined;
  const ctl = controls(view, id);

  const draw = () => {
    cancelAnimationFrame(frame);
    clearTimeout(frameTimer);
    frame = 0;
    frameTimer = undefined;
    if (!ctx.alive() || finished) return;
    view.update({ report, live: store.points, run, status, events });
  };
  // One render per frame however many events arrived; a timer stands in
  // for frames when the tab is hidden, so the page is never > ~1 s behind.
  const schedule = () => {
    if (frame || frameTimer) return;
    frame = requestAnimationFrame(draw);
    frameTimer = setTimeout(draw, 1000);
  };
  const stop = () => {
    es?.close();
    es = null;
    timers.forEach(clearTimeout);
    timers.clear();
    cancelAnimationFrame(frame);
    clearTimeout(frameTimer);
  };
  ctx.onDispose(() => {
    finished = true;
    stop();
  });

  const finish = async () => {
    if (finished) return;
    finished = true;
    stop();
    ctl.remove();
    try {
      run = await api<Run>(`/runs/${enc(id)}`);
      const m = await finishedModel(run);
      if (!ctx.alive()) return;
      view.update(m);
      await nextFrame();
    } catch (e) {
      if (ctx.alive()) view.controls.replaceChildren(h("p", { class: "error", role: "alert" }, "Could not load the final report: " + errorText(e)));
    }
  };

  const open = () => {
    if (finished) return;
    es = new EventSource(`/runs/${enc(id)}/metrics`);
    es.onmessage = (ev) => {
      try {
        store.add(JSON.parse(ev.data as string) as LivePoint);
        schedule();
      } catch {
        /* a malformed event is skipped */
      }
    };
    es.addEventListener("status", (ev) => {
      try {
        const s = JSON.parse((ev as MessageEvent).data as string) as { status: string; reason?: string };
        status = s.status;
        if (s.reason) run = { ...run, reason: s.reason };
        // Finished: nothing to control while its last intervals come in.
        if (!LIVE_STATUSES.includes(s.status)) ctl.remove();
        schedule();
      } catch {
        /* ignore */
      }
    });
    es.addEventListener("end", () => void finish());
    es.onerror = () => {
      // EventSource retries by itself (with Last-Event-ID) while CONNECTING;
      // CLOSED means the server refused: check whether the run has ended.
      if (!es || es.readyState !== EventSource.CLOSED || finished) return;
      es = null;
      later(() => {
        void api<Run>(`/runs/${enc(id)}`)
          .then((r) => (LIVE_STATUSES.includes(r.status) ? open() : finish()))
          .catch(() => open());
      }, 2000);
    };
  };

  const pollEvents = async () => {
    if (finished || !ctx.alive()) return;
    try {
      const res = await api<{ events: RunEvent[] }>(`/runs/${enc(id)}/events`);
      if (res.events && res.events.length !== events.length) {
        events = res.events;
        schedule();
      }
    } catch (e) {
      // An older server has no events endpoint: the report so far lists them.
      if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return;
    }
    if (!finished && ctx.alive()) later(() => void pollEvents(), 2000);
  };
  // The report so far (thresholds, workers, histogram) is built by the
  // server from every interval: a long run's costs it seconds. It is asked
  // for every 10 s, or 20 times as long as it took, whichever is longer, so
  // that a page left open costs the server at most 5 % of a core.
  const refreshReport = async () => {
    if (finished || !ctx.alive()) return;
    const began = performance.now();
    try {
      report = await api<Report>(`/runs/${enc(id)}/report`);
      if (events.length === 0 && report.events?.length) events = report.events;
      schedule();
    } catch {
      /* keep the previous report so far */
    }
    const next = Math.max(10000, 20 * (performance.now() - began));
    if (!finished && ctx.alive()) later(() => void refreshReport(), next);
  };

  ctx.el.append(view.root);
  view.update({ report, live: store.points, run, status, events });
  open();
  later(() => void pollEvents(), 0);
  later(() => void refreshReport(), 3000); // soon: at the page's start the run had little to report
}
