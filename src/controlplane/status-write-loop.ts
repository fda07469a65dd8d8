// What the control plane's status writers share (analysis findings on Istio config, load-balancer
// addresses on Ingresses): a debounced round over the watched objects, a write only where the status
// differs, no second write of the same status while the watch still shows the object it was written
// over, and a retry with back-off after a failed round.
import { isDeepStrictEqual } from 'node:util';
import { apiErrorCode, apiErrorMessage } from '../k8s/client/client.js';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { Debouncer } from '../xds/debounce.js';

export interface StatusWriteLoopOptions {
  /** Names the writer in log lines ("config status", "ingress status"). */
  label: string;
  /** One round over every object: false when a write failed (a retry is due), undefined when skipped (not ready, stopped). */
  round: () => Promise<boolean | undefined>;
  log: (line: string) => void;
  clock?: Clock;
  debounce?: { quietMs: number; maxDelayMs: number };
  retry?: { initialMs: number; maxMs: number };
}

export interface StatusWriteFailures {
  /** Writes refused because the object changed meanwhile (retried with the newer object). */
  conflicts: number;
  failures: number;
  lastError?: string;
}

export type StatusWriteOutcome = 'written' | 'unchanged' | 'gone' | 'failed';

export class StatusWriteLoop {
  readonly failures: StatusWriteFailures = { conflicts: 0, failures: 0 };
  private readonly clock: Clock;
  private readonly debouncer: Debouncer<void>;
  /**
   * Per object: the status last written and the resourceVersion it was written over. Until the watch
   * delivers the written object, the cache still shows the old one; this keeps the next round from
   * writing the same status again over a resourceVersion that is gone.
   */
  private readonly inFlight = new Map<string, { over: string; status: unknown }>();
  private retryTimer: TimerHandle | undefined;
  private retryDelay: number;
  private stoppedFlag = false;

  constructor(private readonly opts: StatusWriteLoopOptions) {
    this.clock = opts.clock ?? systemClock;
    this.retryDelay = opts.retry?.initialMs ?? 1000;
    this.debouncer = new Debouncer<void>({
      fire: () => this.runRound(),
      quietMs: opts.debounce?.quietMs ?? 200,
      maxDelayMs: opts.debounce?.maxDelayMs ?? 2000,
      clock: this.clock,
      onError: (err) => opts.log(`control-plane: ${opts.label}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`),
    });
  }

  get stopped(): boolean {
    return this.stoppedFlag;
  }

  /** The inputs may have changed: run a round soon (debounced). */
  changed(): void {
    if (!this.stoppedFlag) this.debouncer.push();
  }

  stop(): void {
    this.stoppedFlag = true;
    this.debouncer.stop();
    this.retryTimer?.cancel();
  }

  /** Runs one round now (tests, and the debouncer). */
  async runRound(): Promise<void> {
    if (this.stoppedFlag) return;
    const ok = await this.opts.round();
    if (ok === true) this.retryDelay = this.opts.retry?.initialMs ?? 1000;
    else if (ok === false) this.scheduleRetry();
  }

  /** The object has the status it should: nothing is in flight for it any more. */
  settled(key: string): void {
    this.inFlight.delete(key);
  }

  /** Forgets the objects that are gone. */
  keepOnly(keys: ReadonlySet<string>): void {
    for (const key of this.inFlight.keys()) if (!keys.has(key)) this.inFlight.delete(key);
  }

  /**
   * Writes `status` over the object at `resourceVersion` unless that very write is in flight.
   * `describe` names the object in a failure's message.
   */
  async write(key: string, resourceVersion: string, status: unknown, describe: string, send: () => Promise<unknown>): Promise<StatusWriteOutcome> {
    const pending = this.inFlight.get(key);
    if (pending && pending.over === resourceVersion && isDeepStrictEqual(pending.status, status)) return 'unchanged';
    try {
      await send();
      this.inFlight.set(key, { over: resourceVersion, status });
      return 'written';
    } catch (err) {
      const code = apiErrorCode(err);
      // Deleted meanwhile: nothing to write on.
      if (code === 404) return 'gone';
      if (code === 409) {
        this.failures.conflicts++;
        return 'failed';
      }
      const message = `${describe}: writing its status failed: ${apiErrorMessage(err).split('\n')[0]}${code ? ` (HTTP ${code})` : ''}`;
      this.failures.failures++;
      this.failures.lastError = message;
      this.opts.log(`control-plane: ${this.opts.label}: ${message}`);
      return 'failed';
    }
  }

  private scheduleRetry(): void {
    if (this.stoppedFlag || this.retryTimer) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(delay * 2, this.opts.retry?.maxMs ?? 30_000);
    this.retryTimer = this.clock.setTimer(() => {
      this.retryTimer = undefined;
      this.changed();
    }, delay);
  }
}
