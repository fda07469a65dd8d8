// A watched value: the current value plus change notification. The router of each listener is
// rebuilt from a Watched route table; nothing polls.

export interface Watched<T> {
  get(): T;
  /** Calls fn on every later change; returns the unsubscribe function. */
  subscribe(fn: (value: T) => void): () => void;
}

export class WatchedValue<T> implements Watched<T> {
  private listeners = new Set<(value: T) => void>();

  constructor(private value: T) {}

  get(): T {
    return this.value;
  }

  set(value: T): void {
    this.value = value;
    for (const fn of [...this.listeners]) fn(value);
  }

  subscribe(fn: (value: T) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
