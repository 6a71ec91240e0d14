// DOM building. Text always goes in as text nodes: no HTML string ever
// reaches the DOM, so names, URLs and messages from runs cannot inject markup.

export type Child = Node | string | number | null | undefined | false | Child[];
export type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k.startsWith("on") && typeof v === "function") {
        el.addEventListener(k.slice(2), v);
      } else if (k === "class") {
        el.className = String(v);
      } else if (k === "href" || k === "src") {
        el.setAttribute(k, safeUrl(String(v)));
      } else if (k === "value" && "value" in el) {
        (el as HTMLInputElement).value = String(v);
      } else {
        el.setAttribute(k, v === true ? "" : String(v));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** Only http(s), relative and blob URLs make it into href/src. */
export function safeUrl(u: string): string {
  const s = u.trim();
  if (/^(https?:|blob:)/i.test(s)) return s;
  if (/^[a-z][a-z0-9+.-]*:/i.test(s)) return "about:blank";
  return s;
}

export function isHttpUrl(u: string | undefined | null): u is string {
  return !!u && /^https?:\/\//i.test(u.trim());
}

/** A section with a heading. */
export function section(title: string, attrs: Attrs | null, ...children: Child[]): HTMLElement {
  return h("section", { class: "card", ...(attrs ?? {}) }, h("h2", null, title), ...children);
}

/** An empty-state note ("no data"). */
export function note(text: string, attrs?: Attrs): HTMLElement {
  return h("p", { class: "note", ...(attrs ?? {}) }, text);
}
