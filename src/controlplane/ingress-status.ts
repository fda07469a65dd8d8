// Istio's ingress status syncer: every Ingress of Istio's class in the control plane's own cluster gets
// `status.loadBalancer.ingress` = the ingress gateway's address (src/ingress/status.ts), written
// through the status subresource only when it differs. Ingresses of another class are left alone (their
// own controller writes theirs). The Ingress watch tells status-only updates apart, so these writes
// rebuild and push nothing.
import { NetworkingV1Api, type KubeConfig, type V1Ingress, type V1IngressLoadBalancerIngress } from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import { isIstioIngress } from '../ingress/class.js';
import { ingressAddresses, loadBalancerIngress, type IngressStatusInputs } from '../ingress/status.js';
import type { Clock } from '../clock.js';
import { StatusWriteLoop } from './status-write-loop.js';

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
  private readonly loop: StatusWriteLoop;
  private written = 0;

  constructor(private readonly opts: IngressStatusOptions) {
    this.networking = opts.kubeConfig.makeApiClient(NetworkingV1Api);
    this.loop = new StatusWriteLoop({
      label: 'ingress status',
      round: () => this.reconcile(),
      log: opts.log,
      ...(opts.clock ? { clock: opts.clock } : {}),
      ...(opts.debounce ? { debounce: opts.debounce } : {}),
      // A failed write is retried after a second, every second (Istio's status syncer requeues too).
      retry: { initialMs: 1000, maxMs: 1000 },
    });
  }

  changed(): void {
    this.loop.changed();
  }

  stats(): IngressStatusStats {
    return { written: this.written, ...this.loop.failures };
  }

  stop(): void {
    this.loop.stop();
  }

  /** One round; false when a write failed (retried), undefined when not ready or stopped. */
  private async reconcile(): Promise<boolean | undefined> {
    if (this.loop.stopped || !this.opts.ready()) return undefined;
    const inputs = this.opts.inputs();
    const want = loadBalancerIngress(ingressAddresses(inputs));
    let failed = false;
    const present = new Set<string>();
    for (const ingress of inputs.ingresses) {
      if (this.loop.stopped) return undefined;
      if (!isIstioIngress(ingress, inputs.ingressClasses, inputs.mesh)) continue;
      present.add(`${ingress.metadata?.namespace ?? ''}/${ingress.metadata?.name ?? ''}`);
      failed ||= !(await this.write(ingress, want));
    }
    this.loop.keepOnly(present);
    return !failed;
  }

  /** False when the write failed (a retry is due). */
  private async write(ingress: V1Ingress, want: V1IngressLoadBalancerIngress[]): Promise<boolean> {
    const name = ingress.metadata?.name;
    const namespace = ingress.metadata?.namespace;
    if (!name || !namespace) return true;
    const key = `${namespace}/${name}`;
    const status = ingressStatusUpdate(ingress, want);
    if (!status) {
      this.loop.settled(key);
      return true;
    }
    const body = { ...ingress, apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', status };
    const outcome = await this.loop.write(key, ingress.metadata?.resourceVersion ?? '', status, `Ingress ${key}`, () =>
      this.networking.replaceNamespacedIngressStatus({ name, namespace, body }),
    );
    if (outcome === 'written') this.written++;
    return outcome !== 'failed';
  }
}
