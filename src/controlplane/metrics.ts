// The control plane's own metrics, by istiod's names and meanings (pilot/pkg/xds/monitoring.go,
// security/pkg/server/ca/monitoring.go), served as Prometheus text on the debug port's /metrics
// (istiod's monitoring port 15014), so istiod dashboards and alerts read them unchanged.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ShortTypeName } from '../xds/protos.js';
import type { ConnectedProxy } from '../xds/status.js';
import type { XdsObserver } from '../xds/stream.js';
import type { PushMetrics } from './pusher.js';
import type { PropagationMetrics } from './propagation.js';

/** istiod's buckets for pilot_proxy_convergence_time (seconds). */
export const CONVERGENCE_BUCKETS = [0.1, 0.5, 1, 3, 5, 10, 20, 30];
/** Buckets of meshwork_config_propagation_seconds: debounce (0.1 s) plus a push is the usual floor. */
export const PROPAGATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** istiod's buckets for pilot_xds_push_time (seconds). */
export const PUSH_TIME_BUCKETS = [0.01, 0.1, 1, 3, 5, 10, 20, 30];

/** The `version` label of pilot_xds: the proxy's ISTIO_VERSION metadata, else its user agent (e.g. `envoy 1.36.2`). */
export function proxyVersion(proxy: Pick<ConnectedProxy, 'metadata' | 'userAgent'>): string {
  const istio = proxy.metadata['ISTIO_VERSION'];
  if (typeof istio === 'string' && istio !== '') return istio;
  return proxy.userAgent !== '-' ? proxy.userAgent : 'unknown';
}

/** Istio's type label: the short xDS type name in lower case (cds, eds, lds, rds, sds, nds). */
function typeLabel(type: ShortTypeName): string {
  return type.toLowerCase();
}

export class ControlPlaneMetrics implements XdsObserver, PushMetrics, PropagationMetrics {
  /** Its own registry: tests run several control planes in one process. */
  readonly registry = new Registry();
  private readonly pushes: Counter<'type'>;
  private readonly rejects: Counter<'type'>;
  private readonly pushTime: Histogram<'type'>;
  private readonly convergence: Histogram;
  private readonly csrs: Counter;
  private readonly issued: Counter;
  private readonly propagation: Histogram<'kind'>;
  private readonly nackedChanges: Counter<'kind'>;
  private pushBegan: number | undefined;

  /** `proxies`: the connected proxies now (agents' own streams are not proxies); empty before the xDS server runs. */
  constructor(proxies: () => readonly ConnectedProxy[]) {
    const registers = [this.registry];
    new Gauge({
      name: 'pilot_xds',
      help: 'Number of endpoints connected to this pilot using XDS.',
      labelNames: ['version'],
      registers,
      collect() {
        this.reset();
        const byVersion = new Map<string, number>();
        for (const proxy of proxies()) byVersion.set(proxyVersion(proxy), (byVersion.get(proxyVersion(proxy)) ?? 0) + 1);
        for (const [version, count] of byVersion) this.set({ version }, count);
      },
    });
    this.pushes = new Counter({ name: 'pilot_xds_pushes', help: 'Pilot build and send errors for lds, rds, cds and eds.', labelNames: ['type'], registers });
    this.rejects = new Counter({ name: 'pilot_total_xds_rejects', help: 'Total number of XDS responses from pilot rejected by proxy.', labelNames: ['type'], registers });
    this.pushTime = new Histogram({
      name: 'pilot_xds_push_time',
      help: 'Total time in seconds Pilot takes to push lds, rds, cds and eds.',
      labelNames: ['type'],
      buckets: PUSH_TIME_BUCKETS,
      registers,
    });
    this.convergence = new Histogram({
      name: 'pilot_proxy_convergence_time',
      help: 'Delay in seconds between config change and a proxy receiving all required configuration.',
      buckets: CONVERGENCE_BUCKETS,
      registers,
    });
    this.csrs = new Counter({ name: 'citadel_server_csr_count', help: 'The number of CSRs received by Citadel server.', registers });
    this.issued = new Counter({ name: 'citadel_server_success_cert_issuance_count', help: 'The number of certificates issuances that have succeeded.', registers });
    this.propagation = new Histogram({
      name: 'meshwork_config_propagation_seconds',
      help: 'Per proxy: seconds from the watch event of a config change to the proxy\'s ACK of the config carrying it.',
      labelNames: ['kind'],
      buckets: PROPAGATION_BUCKETS,
      registers,
    });
    this.nackedChanges = new Counter({
      name: 'meshwork_config_changes_nacked_total',
      help: 'Config changes whose config at least one proxy rejected (NACK), counted once per change.',
      labelNames: ['kind'],
      registers,
    });
  }

  configPropagated(kind: string, seconds: number): void {
    this.propagation.observe({ kind }, seconds);
  }

  configChangeNacked(kind: string): void {
    this.nackedChanges.inc({ kind });
  }

  responseSent(type: ShortTypeName, seconds: number): void {
    this.pushes.inc({ type: typeLabel(type) });
    this.pushTime.observe({ type: typeLabel(type) }, seconds);
  }

  rejected(type: ShortTypeName): void {
    this.rejects.inc({ type: typeLabel(type) });
  }

  pushStartedAt(): number | undefined {
    return this.pushBegan;
  }

  pushStarted(): void {
    this.pushBegan = performance.now();
  }

  pushEnded(): void {
    this.pushBegan = undefined;
  }

  converged(seconds: number): void {
    this.convergence.observe(seconds);
  }

  csrReceived(): void {
    this.csrs.inc();
  }

  certificateIssued(): void {
    this.issued.inc();
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
