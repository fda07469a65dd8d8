// What the controller needs from an MCI's edge, whichever data plane runs it: Envoy configured over
// xDS (envoy-edge.ts), or the TypeScript edge proxy (src/edge/) when no Envoy is installed.
import { EdgeProxy, type EdgeBackend, type EdgeProxyOptions } from '../edge/edge-proxy.js';
import type { EdgePlan } from './resources.js';

export interface EdgeGateway {
  /** `cluster/pod`, as the x-meshwork-edge-backend response header names it. */
  id: string;
  cluster: string;
  address: string;
  healthy: boolean;
  /** Requests the edge sent to it. */
  requests: number;
}

export interface EdgeUpdate {
  plan: EdgePlan;
  backends: readonly EdgeBackend[];
}

export interface MciEdge {
  readonly dataPlane: 'envoy' | 'meshwork';
  /** What clients put in the URL: the VIP alone on port 80, VIP:port otherwise. */
  readonly address: string;
  /** host:port of the admin endpoint (Envoy's admin API, or the TypeScript edge's GET /stats). */
  readonly adminAddress: string;
  /** The edge's own process (an Envoy), when it runs in one. */
  readonly pid?: number | undefined;
  start(): Promise<void>;
  update(update: EdgeUpdate): void;
  /** Resolves once the edge serves its configuration; rejects with the reason when it does not in time. */
  ready(timeoutMs: number): Promise<void>;
  gateways(): Promise<EdgeGateway[]>;
  /** Why the data plane refuses the latest configuration (an Envoy NACK), when it does. */
  rejected(): string | undefined;
  stop(): Promise<void>;
}

/** The TypeScript edge proxy behind the MciEdge interface. */
export class MeshworkEdge implements MciEdge {
  readonly dataPlane = 'meshwork';
  private readonly proxy: EdgeProxy;

  constructor(opts: EdgeProxyOptions) {
    this.proxy = new EdgeProxy(opts);
  }

  get address(): string {
    return this.proxy.address;
  }

  get adminAddress(): string {
    return this.proxy.adminAddress;
  }

  start(): Promise<void> {
    return this.proxy.start();
  }

  update({ plan, backends }: EdgeUpdate): void {
    this.proxy.update({ backends, healthCheck: plan.healthCheck, ...(plan.tls ? { tls: plan.tls } : {}) });
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  gateways(): Promise<EdgeGateway[]> {
    return Promise.resolve(this.proxy.stats().backends.map((b) => ({ id: b.id, cluster: b.cluster, address: b.address, healthy: b.healthy, requests: b.requests })));
  }

  rejected(): undefined {
    return undefined;
  }

  stop(): Promise<void> {
    return this.proxy.stop();
  }
}
