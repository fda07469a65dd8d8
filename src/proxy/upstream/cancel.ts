// A per-request cancellation token for the request path. AbortController is an EventTarget and costs
// several microseconds to create and to listen on, and even an EventEmitter costs its init and `once`
// wrappers; a proxy makes a few tokens per request, so this is a plain list of callbacks.
// asAbortSignal() bridges to APIs that need a real AbortSignal (node:http2) and is only paid for there.

export class Cancel {
  aborted = false;
  private listeners: (() => void)[] | undefined;
  private bridge: AbortController | undefined;

  /** Idempotent: listeners run once, on the first call, in the order they were added. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.bridge?.abort();
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const fn of listeners) fn();
  }

  /** Runs fn on abort (at most once); returns the function that stops listening. */
  onAbort(fn: () => void): () => void {
    (this.listeners ??= []).push(fn);
    return () => this.off(fn);
  }

  /** Stops running fn on abort. */
  off(fn: () => void): void {
    const listeners = this.listeners;
    if (!listeners) return;
    const i = listeners.lastIndexOf(fn);
    if (i >= 0) listeners.splice(i, 1);
  }

  asAbortSignal(): AbortSignal {
    if (!this.bridge) {
      this.bridge = new AbortController();
      if (this.aborted) this.bridge.abort();
    }
    return this.bridge.signal;
  }
}
