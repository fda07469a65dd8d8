// A few DOM helpers: elements are built with textContent only (names come from Kubernetes objects and
// must never be parsed as HTML), and lists are updated in place by key so that cards keep their identity
// (and an opened <details> stays open) across updates.

export type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) el.setAttribute(name, value);
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces an element's content, keeping the open/closed state of its <details> elements (in order). */
export function replaceContent(el: Element, children: Child[]): void {
  const open = [...el.querySelectorAll('details')].map((d) => d.open);
  el.replaceChildren();
  append(el, children);
  el.querySelectorAll('details').forEach((d, i) => {
    if (open[i] !== undefined) d.open = open[i];
  });
}

/**
 * Makes `container`'s children one element per item, in order, reusing the element with the same key
 * (`data-key`), so an update changes content in place instead of rebuilding the list.
 */
export function reconcile<T>(
  container: Element,
  items: readonly T[],
  keyOf: (item: T) => string,
  create: (item: T) => HTMLElement,
  update: (el: HTMLElement, item: T) => void,
): void {
  const existing = new Map<string, HTMLElement>();
  for (const child of [...container.children]) {
    if (child instanceof HTMLElement && child.dataset.key !== undefined) existing.set(child.dataset.key, child);
    else child.remove(); // a placeholder such as "no splits yet"
  }
  let previous: Element | null = null;
  for (const item of items) {
    const key = keyOf(item);
    let el = existing.get(key);
    existing.delete(key);
    if (!el) {
      el = create(item);
      el.dataset.key = key;
    }
    update(el, item);
    const expectedPosition: Element | null = previous ? previous.nextElementSibling : container.firstElementChild;
    if (expectedPosition !== el) container.insertBefore(el, expectedPosition);
    previous = el;
  }
  for (const el of existing.values()) el.remove();
}

export function empty(text: string): HTMLElement {
  return h('p', { class: 'empty' }, text);
}

/** Local wall-clock time with milliseconds, e.g. `18:20:01.123`. */
export function clockTime(iso: string | undefined): string {
  if (iso === undefined) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}
