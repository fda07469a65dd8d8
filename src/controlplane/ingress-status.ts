// Istio's ingress status syncer: every Ingress of Istio's class in the control plane's own cluster gets
// `status.loadBalancer.ingress` = the ingress gateway's address (src/ingress/status.ts), written
// through the status subresource only when it differs. Ingresses of another class are left alone (their
// own controller writes theirs). The Ingress watch tells status-only updates apart, so these writes
// rebuild and push nothing.
import { NetworkingV1Api, type KubeConfig, type V1Ingress, type V1IngressLoadBalancerIngress } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import { isIstioIngress } from '../ingress/class.js';
import { ingressAddresses, loadBalancerIngress, type IngressStatusInputs } from '../ingress/status.js';
import { apiErrorCode, apiErrorMessage } from '../kubeapi/client.js';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { Debouncer } from '../xds/debounce.js';

export interface IngressStatusOptions {
  kubeConfig: KubeConfig;
  inputs: () => IngressStatusInputs;
  /** Whether the inputs reflect the cluster (listed at least once). */
  ready: () => boolean;
  log: (line: string) => void;
  clock?: Clock;
  debounce?: { quietMs: number; maxDelayMs: number };
}

export interface IngressStatusStats {
  written: number;
  conflicts: number;
  failures: number;
  lastError?: string;
}

/** The status an Ingress should have, or undefined when it has it already. */
export function ingressStatusUpdate(ingress: V1Ingress, want: V1IngressLoadBalancerIngress[]): V1Ingress['status'] | undefined {
  const have = ingress.status?.loadBalancer?.ingress ?? [];
  const plain = (list: readonly V1IngressLoadBalancerIngress[]) => list.map((i) => ({ ...(i.ip ? { ip: i.ip } : {}), ...(i.hostname ? { hostname: i.hostname } : {}) }));
  if (isDeepStrictEqual(plain(have), plain(want))) return undefined;
  return { ...(ingress.status ?? {}), loadBalancer: want.length > 0 ? { ingress: want } : {} };
}

export class IngressStatusSyncer {
  private readonly networking: NetworkingV1Api;
  private readonly clock: Clock;
  private readonly debouncer: Debouncer<void>;
  private readonly counts: IngressStatusStats = { written: 0, conflicts: 0, failures: 0 };
  /** Per Ingress: the status written over which resourceVersion, until the watch shows the written object. */
  private readonly inFlight = new Map<string, { over: string; status: unknown }>();
  private retryTimer: TimerHandle | undefined;
  private stopped = false;

  constructor(private readonly opts: IngressStatusOptions) {
    this.networking = opts.kubeConfig.makeApiClient(NetworkingV1Api);
    this.clock = opts.clock ?? systemClock;
    this.debouncer = new Debouncer<void>({
      fire: () => this.reconcile(),
      quietMs: opts.debounce?.quietMs ?? 200,
      maxDelayMs: opts.debounce?.maxDelayMs ?? 2000,
      clock: this.clock,
      onError: (err) => opts.log(`control-plane: ingress status: ${err instanceof Error ? err.stack ?? err.message : String(err)}`),
    });
  }

  changed(): void {
    if (!this.stopped) this.debouncer.push();
  }

  stats(): IngressStatusStats {
    return { ...this.counts };
  }

  stop(): void {
    this.stopped = true;
    this.debouncer.stop();
    this.retryTimer?.cancel();
  }

  async reconcile(): Promise<void> {
    if (this.stopped || !this.opts.ready()) return;
    const inputs = this.opts.inputs();
    const want = loadBalancerIngress(ingressAddresses(inputs));
    let failed = false;
    const present = new Set<string>();
    for (const ingress of inputs.ingresses) {
      if (this.stopped) return;
      if (!isIstioIngress(ingress, inputs.ingressClasses, inputs.mesh)) continue;
      present.add(`${ingress.metadata?.namespace ?? ''}/${ingress.metadata?.name ?? ''}`);
      failed ||= !(await this.write(ingress, want));
    }
    for (const key of this.inFlight.keys()) if (!present.has(key)) this.inFlight.delete(key);
    if (failed && !this.retryTimer) {
      this.retryTimer = this.clock.setTimer(() => {
        this.retryTimer = undefined;
        this.changed();
      }, 1000);
    }
  }

  /** False when the write failed (a retry is due). */
  private async write(ingress: V1Ingress, want: V1IngressLoadBalancerIngress[]): Promise<boolean> {
    const name = ingress.metadata?.name;
    const namespace = ingress.metadata?.namespace;
    if (!name || !namespace) return true;
    const key = `${namespace}/${name}`;
    const resourceVersion = ingress.metadata?.resourceVersion ?? '';
    const status = ingressStatusUpdate(ingress, want);
    if (!status) {
      this.inFlight.delete(key);
      return true;
    }
    const pending = this.inFlight.get(key);
    if (pending && pending.over === resourceVersion && isDeepStrictEqual(pending.status, status)) return true;
    try {
      await this.networking.replaceNamespacedIngressStatus({ name, namespace, body: { ...ingress, apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', status } });
      this.inFlight.set(key, { over: resourceVersion, status });
      this.counts.written++;
      return true;
    } catch (err) {
      const code = apiErrorCode(err);
      if (code === 404) return true;
      if (code === 409) {
        this.counts.conflicts++;
        return false;
      }
      const message = `Ingress ${key}: writing its status failed: ${apiErrorMessage(err).split('\n')[0]}${code ? ` (HTTP ${code})` : ''}`;
      this.counts.failures++;
      this.counts.lastError = message;
      this.opts.log(`control-plane: ${message}`);
      return false;
    }
  }
}
