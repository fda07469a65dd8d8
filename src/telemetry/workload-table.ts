// The workload table (WDS): every pod endpoint of the mesh, all member clusters, by pod IP, with what
// Istio's metrics say about a peer (workload, namespace, app, version, cluster, service account and
// principal, canonical service and revision) and the service ports it backs. The control plane builds
// it from the registry; each pod's agent looks its peers up in it. Istio's proxies learn this from each
// other (metadata exchange); upstream Envoy has no such filter, so the control plane, which knows every
// pod, hands it out. Pure.
import type { MeshEndpoint, MeshSnapshot } from '../registry/model.js';
import { DEFAULT_TRUST_DOMAIN, spiffeId } from '../security/spiffe.js';

/** meshwork.telemetry.v1.WorkloadTable.Workload, in the proto's snake_case shape. */
export interface WorkloadInfo {
  name: string;
  namespace: string;
  app: string;
  version: string;
  cluster: string;
  service_account: string;
  /** spiffe://<trust domain>/ns/<ns>/sa/<sa>, '' when the service account is unknown. */
  principal: string;
  canonical_service: string;
  canonical_revision: string;
  /** The service ports the pod backs: its inbound side names the service of a request by its target port. */
  services: Array<{ host: string; target_port: number }>;
}

export interface WorkloadTable {
  /** By pod IP. */
  workloads: Record<string, WorkloadInfo>;
}

const CANONICAL_NAME_LABEL = 'service.istio.io/canonical-name';
const CANONICAL_REVISION_LABEL = 'service.istio.io/canonical-revision';

/**
 * The workload a pod belongs to, as Istio names it (the pod's controller, a ReplicaSet's pods its
 * Deployment), told from the pod's name and the labels its controller put on it: a Deployment's pods are
 * `<deployment>-<pod-template-hash>-<5 chars>`, a StatefulSet's `<set>-<ordinal>`, a Job's carry
 * `job-name`. Any other pod is its own workload.
 */
export function workloadNameOf(podName: string, labels: Readonly<Record<string, string>>): string {
  const hash = labels['pod-template-hash'];
  if (hash) {
    const marker = `-${hash}-`;
    const at = podName.lastIndexOf(marker);
    if (at > 0 && /^[a-z0-9]+$/.test(podName.slice(at + marker.length))) return podName.slice(0, at);
  }
  const setPod = labels['statefulset.kubernetes.io/pod-name'];
  if (setPod === podName && /-\d+$/.test(podName)) return podName.replace(/-\d+$/, '');
  if (labels['job-name']) return labels['job-name'];
  return podName;
}

/** Istio's canonical service: the canonical-name label, app.kubernetes.io/name, app, else the workload. */
export function canonicalService(labels: Readonly<Record<string, string>>, workload: string): string {
  return labels[CANONICAL_NAME_LABEL] ?? labels['app.kubernetes.io/name'] ?? labels['app'] ?? workload;
}

/** Istio's canonical revision: the canonical-revision label, app.kubernetes.io/version, version, else `latest`. */
export function canonicalRevision(labels: Readonly<Record<string, string>>): string {
  return labels[CANONICAL_REVISION_LABEL] ?? labels['app.kubernetes.io/version'] ?? labels['version'] ?? 'latest';
}

/** What a pod says about itself in the table; also how an agent describes its own pod. */
export function workloadInfo(pod: { name: string; namespace: string; labels: Readonly<Record<string, string>>; cluster: string; serviceAccount?: string; trustDomain?: string }): WorkloadInfo {
  const name = workloadNameOf(pod.name, pod.labels);
  const sa = pod.serviceAccount ?? '';
  return {
    name,
    namespace: pod.namespace,
    app: pod.labels['app'] ?? '',
    version: pod.labels['version'] ?? '',
    cluster: pod.cluster,
    service_account: sa,
    principal: sa ? spiffeId({ trustDomain: pod.trustDomain ?? DEFAULT_TRUST_DOMAIN, namespace: pod.namespace, serviceAccount: sa }) : '',
    canonical_service: canonicalService(pod.labels, name),
    canonical_revision: canonicalRevision(pod.labels),
    services: [],
  };
}

/**
 * The table of the whole mesh (the same for every proxy: a peer may be in any cluster). Endpoints that
 * are no pod (ServiceEntry addresses) are left out: they have no workload.
 */
export function buildWorkloadTable(snapshot: Pick<MeshSnapshot, 'endpoints' | 'trustDomain'>): WorkloadTable {
  const workloads: Record<string, WorkloadInfo> = {};
  const sorted = [...snapshot.endpoints].filter((e): e is MeshEndpoint & { podName: string } => e.podName !== undefined)
    .sort((a, b) => a.address.localeCompare(b.address) || a.hostname.localeCompare(b.hostname));
  for (const e of sorted) {
    const info = (workloads[e.address] ??= workloadInfo({
      name: e.podName,
      namespace: e.namespace,
      labels: e.labels,
      cluster: e.cluster,
      // Only a pod with a sidecar has a mesh identity (its certificate); the others talk plaintext.
      ...(e.serviceAccount && e.hasSidecar ? { serviceAccount: e.serviceAccount } : {}),
      ...(snapshot.trustDomain ? { trustDomain: snapshot.trustDomain } : {}),
    }));
    for (const port of Object.values(e.ports).sort((a, b) => a - b)) {
      if (!info.services.some((s) => s.host === e.hostname && s.target_port === port)) info.services.push({ host: e.hostname, target_port: port });
    }
  }
  return { workloads };
}

const STRING_FIELDS = ['name', 'namespace', 'app', 'version', 'cluster', 'service_account', 'principal', 'canonical_service', 'canonical_revision'] as const;

/** The WorkloadTable of a decoded WDS resource; throws naming what is wrong. */
export function toWorkloadTable(message: Record<string, unknown>): WorkloadTable {
  const raw = message['workloads'] ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('WorkloadTable.workloads is not a map');
  const workloads: Record<string, WorkloadInfo> = {};
  for (const [ip, value] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof value !== 'object' || value === null) throw new Error(`WorkloadTable entry ${ip} is not a Workload`);
    const w = value as Record<string, unknown>;
    const info = { services: [] } as unknown as WorkloadInfo;
    for (const field of STRING_FIELDS) {
      const v = w[field] ?? '';
      if (typeof v !== 'string') throw new Error(`WorkloadTable entry ${ip}: ${field} is not a string`);
      info[field] = v;
    }
    const services = w['services'] ?? [];
    if (!Array.isArray(services)) throw new Error(`WorkloadTable entry ${ip}: services is not a list`);
    for (const s of services as Array<Record<string, unknown>>) {
      if (typeof s?.['host'] !== 'string' || typeof (s['target_port'] ?? 0) !== 'number') throw new Error(`WorkloadTable entry ${ip}: a service is not {host, target_port}`);
      info.services.push({ host: s['host'], target_port: Number(s['target_port'] ?? 0) });
    }
    workloads[ip] = info;
  }
  return { workloads };
}
