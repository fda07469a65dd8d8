// The proxy a pod runs behind its agent: Envoy (as in every Istio install) or the meshwork proxy (for
// machines without Envoy). The agent sees both through this one contract.
export type DataPlaneKind = 'envoy' | 'meshwork';
export const DATA_PLANES: readonly DataPlaneKind[] = ['envoy', 'meshwork'];

/** The pod annotation that picks a pod's data plane over the mesh's default. */
export const DATA_PLANE_ANNOTATION = 'proxy.meshwork.io/data-plane';
/** The variable the injector sets on the proxy container. */
export const DATA_PLANE_ENV = 'MESHWORK_DATA_PLANE';

export function parseDataPlane(value: string, where: string): DataPlaneKind {
  const v = value.trim().toLowerCase();
  if (v === 'envoy' || v === 'meshwork') return v;
  throw new Error(`${where}: unknown data plane "${value}": use envoy or meshwork`);
}

export interface DataPlane {
  readonly kind: DataPlaneKind;
  /** e.g. "envoy 1.40.0" or "meshwork 0.1.0". */
  readonly version: string;
  readonly adminAddress: { host: string; port: number };
  /** Has its config from the control plane (what /healthz/ready reports); never throws. */
  ready(): Promise<{ ready: boolean; reason: string }>;
  /** The data plane's process when it runs in its own (Envoy); undefined for the in-process proxy. */
  pid(): number | undefined;
  /** How often the data plane died and was restarted. */
  restarts(): number;
  /** The data plane's own Prometheus text. */
  prometheus(): Promise<string>;
  /** Stop taking new connections and let in-flight requests finish (the listeners stay bound). */
  drain(): Promise<void>;
  stop(): Promise<void>;
}
