// Entry point. Report-file mode when the page embeds #barrage-data (opened
// from file://, no network); otherwise the console served under /ui/.

import "uplot/dist/uPlot.min.css";
import "./style.css";
import { Router, markReady, nextFrame, showError, type PageCtx } from "./app";
import { h } from "./dom";
import { DATA_ELEMENT_ID, decodeEmbedded } from "./embed";
import { fmtDate } from "./format";
import { comparePage } from "./pages/compare";
import { runPage } from "./pages/run";
import { runsPage } from "./pages/runs";
import { scenarioPage, scenariosPage } from "./pages/scenarios";
import { schedulesPage } from "./pages/schedules";
import { RunView } from "./runview";

function appRoot(): HTMLElement {
  let app = document.getElementById("app");
  if (!app) {
    app = h("div", { id: "app" });
    document.body.appendChild(app);
  }
  return app;
}

async function reportFile(app: HTMLElement, dataEl: Element): Promise<void> {
  document.documentElement.classList.add("report-file");
  try {
    const t0 = performance.now();
    performance.mark("barrage:start");
    const data = await decodeEmbedded(dataEl.textContent ?? "");
    const r = data.report;
    performance.mark("barrage:decoded");
    document.title = `${r.scenario || r.scenario_id} — ${r.run_id} — Barrage report`;
    const view = new RunView(r.run_id);
    app.replaceChildren(view.root, h("footer", { class: "footer" }, "Barrage report", data.generated_at ? ` · generated ${fmtDate(data.generated_at)}` : ""));
    view.update({ report: r, baseline: data.baseline ?? null, comparison: data.comparison ?? null });
    performance.mark("barrage:updated");
    // How long decoding and the first render took (for performance checks).
    document.documentElement.dataset.renderMs = (performance.now() - t0).toFixed(0);
    await nextFrame();
    markReady("1");
  } catch (e) {
    showError(app, e);
  }
}

function nav(): HTMLElement {
  return h(
    "nav",
    { class: "topnav" },
    h("a", { href: "/ui/", class: "brand" }, "Barrage"),
    h("a", { href: "/ui/" }, "Runs"),
    h("a", { href: "/ui/scenarios" }, "Scenarios"),
    h("a", { href: "/ui/schedules" }, "Schedules"),
    h("a", { href: "/ui/compare" }, "Compare"),
  );
}

async function notFound(ctx: PageCtx): Promise<void> {
  ctx.el.append(h("main", { class: "list-page" }, h("h1", null, "Not found"), h("p", null, "No page at ", h("code", null, location.pathname), ". ", h("a", { href: "/ui/" }, "Back to the runs."))));
}

function start(): void {
  const app = appRoot();
  const dataEl = document.getElementById(DATA_ELEMENT_ID);
  if (dataEl) {
    void reportFile(app, dataEl);
    return;
  }
  document.documentElement.classList.add("console");
  const container = h("div", { class: "console-body" });
  app.replaceChildren(nav(), container);
  new Router(container, notFound)
    .add(/^\/ui$/, runsPage)
    .add(/^\/ui\/runs$/, runsPage)
    .add(/^\/ui\/runs\/([^/]+)$/, runPage)
    .add(/^\/ui\/scenarios$/, scenariosPage)
    .add(/^\/ui\/scenarios\/([^/]+)$/, scenarioPage)
    .add(/^\/ui\/compare$/, comparePage)
    .add(/^\/ui\/schedules$/, schedulesPage)
    .start();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
