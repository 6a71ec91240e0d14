// Console routing: Go serves the same shell for every /ui/* path; the page
// is chosen from location.pathname. Internal links are real <a href> that
// navigate with pushState.

import { errorText } from "./api";
import { h } from "./dom";

export interface PageCtx {
  /** the page's container, empty at start */
  el: HTMLElement;
  params: URLSearchParams;
  /** false once the user navigated away: stop timers and streams */
  alive(): boolean;
  onDispose(fn: () => void): void;
  navigate(url: string, replace?: boolean): void;
}

export type PageFn = (ctx: PageCtx, ...args: string[]) => Promise<void>;

interface Route {
  re: RegExp;
  page: PageFn;
}

/** Resolves on the next frame (or soon, when frames are not running). */
export function nextFrame(): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      resolve();
    };
    requestAnimationFrame(() => requestAnimationFrame(finish));
    setTimeout(finish, 250);
  });
}

export function markReady(state: "1" | "error"): void {
  if (state === "1") performance.mark("barrage:ready");
  document.documentElement.dataset.ready = state;
}

export function showError(el: HTMLElement, e: unknown): void {
  el.replaceChildren(h("div", { class: "error-box", role: "alert", "data-testid": "page-error" }, h("strong", null, "Could not render this page: "), errorText(e)));
  markReady("error");
}

export class Router {
  private routes: Route[] = [];
  private disposers: (() => void)[] = [];
  private gen = 0;

  constructor(
    private container: HTMLElement,
    private notFound: PageFn,
  ) {}

  add(re: RegExp, page: PageFn): this {
    this.routes.push({ re, page });
    return this;
  }

  start(): void {
    window.addEventListener("popstate", () => void this.route());
    document.addEventListener("click", (ev) => this.onClick(ev));
    void this.route();
  }

  navigate(url: string, replace = false): void {
    if (replace) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
    void this.route();
  }

  private onClick(ev: MouseEvent): void {
    if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
    const a = (ev.target as Element | null)?.closest?.("a");
    if (!a || a.target || a.hasAttribute("download")) return;
    const href = a.getAttribute("href");
    if (!href || !href.startsWith("/ui")) return;
    ev.preventDefault();
    this.navigate(href);
  }

  private async route(): Promise<void> {
    const gen = ++this.gen;
    for (const d of this.disposers.splice(0)) {
      try {
        d();
      } catch {
        /* a page's cleanup failing must not stop the next page */
      }
    }
    delete document.documentElement.dataset.ready;
    const el = h("div", { class: "page" });
    this.container.replaceChildren(el);
    window.scrollTo(0, 0);
    const path = location.pathname.replace(/\/+$/, "") || "/ui";
    let page = this.notFound;
    let args: string[] = [];
    for (const r of this.routes) {
      const m = r.re.exec(path);
      if (m) {
        page = r.page;
        try {
          args = m.slice(1).map((s) => decodeURIComponent(s));
        } catch {
          page = this.notFound; // a malformed escape (%E0) names no page
        }
        break;
      }
    }
    const ctx: PageCtx = {
      el,
      params: new URLSearchParams(location.search),
      alive: () => gen === this.gen,
      onDispose: (fn) => {
        if (gen === this.gen) this.disposers.push(fn);
        else fn();
      },
      navigate: (url, replace) => this.navigate(url, replace),
    };
    try {
      await page(ctx, ...args);
      if (!ctx.alive()) return;
      await nextFrame();
      if (ctx.alive()) markReady("1");
    } catch (e) {
      if (ctx.alive()) showError(el, e);
    }
  }
}
