// Test fixture builder: Kubernetes/Istio YAML (the scenario's own files, or inline YAML) applied to
// named member clusters -> a MeshSnapshot, as the registry would build it. Deployments become pods
// (one per replica) with IPs from the cluster's loopback range (layout.md); Services select them.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { AuthorizationPolicy, DestinationRule, Gateway, PeerAuthentication, ServiceEntry, Sidecar, VirtualService } from '../../config/istio-types.js';
import type { KubeObject } from '../../k8s/object.js';
import { meshServicePorts } from '../../registry/build.js';
import type { IstioObject, MeshEndpoint, MeshService, MeshSnapshot, ProxyIdentity } from '../../registry/model.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root (package.json) above the fixture');
    dir = parent;
  }
  return dir;
}

export const REPO_ROOT = repoRoot();
export const GOLDEN_DIR = join(REPO_ROOT, 'src', 'translate', 'testdata');

/** ../shared/scenario beside the clone where it exists, else the product's copy under examples/. */
export function scenarioDir(): string {
  const shared = resolve(REPO_ROOT, '..', 'shared', 'scenario');
  return existsSync(shared) ? shared : join(REPO_ROOT, 'examples', 'multicluster-helloworld');
}

export function parseYaml(text: string, origin: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${origin}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || !('kind' in value) || !('metadata' in value)) throw new Error(`${origin}: a document is not a Kubernetes object`);
    out.push(value as KubeObject);
  }
  return out;
}

const parsedFiles = new Map<string, KubeObject[]>();

/** The objects of one scenario file (parsed once; each call gets its own copy). */
export function scenarioFile(name: string): KubeObject[] {
  const path = join(scenarioDir(), name);
  let objects = parsedFiles.get(path);
  if (!objects) {
    objects = parseYaml(readFileSync(path, 'utf8'), path);
    parsedFiles.set(path, objects);
  }
  return structuredClone(objects);
}

interface PodSpecLike {
  metadata?: { labels?: Record<string, string> };
  spec?: { containers?: Array<{ name: string }>; serviceAccountName?: string };
}

interface Pod {
  name: string;
  namespace: string;
  cluster: string;
  ip: string;
  appIp: string;
  labels: Record<string, string>;
  hasSidecar: boolean;
  serviceAccount: string;
}

/** A member cluster being filled: its objects per namespace, and its pod IP counter. */
export class FixtureCluster {
  readonly objects: Array<{ namespace: string; object: KubeObject }> = [];
  #nextPod = 2;
  readonly pods: Pod[] = [];

  constructor(
    readonly name: string,
    readonly subnetOctet: number,
  ) {}

  apply(namespace: string, objects: KubeObject[], filter?: (o: KubeObject) => boolean): this {
    for (const object of objects) {
      if (filter && !filter(object)) continue;
      const ns = object.metadata.namespace ?? namespace;
      // Re-applying replaces, as kubectl apply does.
      const existing = this.objects.findIndex((o) => o.namespace === ns && o.object.kind === object.kind && o.object.metadata.name === object.metadata.name);
      if (existing >= 0) this.objects.splice(existing, 1);
      this.objects.push({ namespace: ns, object });
      if (object.kind === 'Deployment') this.#startPods(ns, object);
    }
    return this;
  }

  #startPods(namespace: string, deployment: KubeObject): void {
    const spec = deployment.spec as { replicas?: number; template?: PodSpecLike } | undefined;
    const replicas = spec?.replicas ?? 1;
    const labels = spec?.template?.metadata?.labels ?? {};
    const isGateway = (spec?.template?.spec?.containers ?? []).some((c) => c.name === 'istio-proxy');
    for (let i = 0; i < replicas; i++) {
      const n = this.#nextPod++;
      this.pods.push({
        name: `${deployment.metadata.name}-${this.name.replace('cluster-', 'c')}-${i}`,
        namespace,
        cluster: this.name,
        ip: `127.${this.subnetOctet}.0.${n}`,
        appIp: `127.${this.subnetOctet}.128.${n}`,
        labels: { ...labels },
        hasSidecar: !isGateway,
        serviceAccount: spec?.template?.spec?.serviceAccountName || 'default',
      });
    }
  }

  pod(namePrefix: string): Pod {
    const pod = this.pods.find((p) => p.name.startsWith(namePrefix));
    if (!pod) throw new Error(`fixture: no pod ${namePrefix}* in ${this.name}`);
    return pod;
  }
}

interface ServiceSpecLike {
  selector?: Record<string, string>;
  ports?: Array<{ name?: string; port: number; protocol?: string; appProtocol?: string; targetPort?: number | string }>;
}

function istioObjects<Spec>(clusters: FixtureCluster[], kind: string): IstioObject<Spec>[] {
  return clusters.flatMap((c) =>
    c.objects
      .filter((o) => o.object.kind === kind)
      .map((o) => {
        const created = (o.object.metadata as { creationTimestamp?: string }).creationTimestamp;
        return { name: o.object.metadata.name ?? '', namespace: o.namespace, spec: o.object.spec as Spec, cluster: c.name, ...(created ? { creationTimestamp: String(created) } : {}) };
      }),
  );
}

export function buildSnapshot(clusters: FixtureCluster[], domainSuffix = 'cluster.local'): MeshSnapshot {
  const services = new Map<string, MeshService>();
  const endpoints: MeshEndpoint[] = [];
  for (const cluster of clusters) {
    for (const { namespace, object } of cluster.objects) {
      if (object.kind !== 'Service') continue;
      const name = object.metadata.name ?? '';
      const spec = (object.spec ?? {}) as ServiceSpecLike;
      const hostname = `${name}.${namespace}.svc.${domainSuffix}`;
      const ports = meshServicePorts(spec.ports ?? []);
      const existing = services.get(hostname);
      if (existing) existing.clusters.push(cluster.name);
      else services.set(hostname, { hostname, name, namespace, ports, clusters: [cluster.name] });
      const selector = spec.selector ?? {};
      for (const pod of cluster.pods) {
        if (pod.namespace !== namespace || !Object.entries(selector).every(([k, v]) => pod.labels[k] === v)) continue;
        const portMap: Record<string, number> = {};
        for (const p of ports) portMap[p.name ?? String(p.port)] = typeof p.targetPort === 'number' ? p.targetPort : p.port;
        endpoints.push({
          hostname,
          cluster: cluster.name,
          address: pod.ip,
          ports: portMap,
          labels: pod.labels,
          locality: { region: 'local', zone: cluster.name },
          ready: true,
          podName: pod.name,
          namespace,
          hasSidecar: pod.hasSidecar,
          ...(pod.hasSidecar ? { appAddress: pod.appIp } : {}),
          serviceAccount: pod.serviceAccount,
        });
      }
    }
  }
  const content = {
    services: [...services.values()],
    endpoints,
    virtualServices: istioObjects<VirtualService>(clusters, 'VirtualService'),
    destinationRules: istioObjects<DestinationRule>(clusters, 'DestinationRule'),
    gateways: istioObjects<Gateway>(clusters, 'Gateway'),
    serviceEntries: istioObjects<ServiceEntry>(clusters, 'ServiceEntry'),
    domainSuffix,
  };
  // Only when there is one, so that the versions of snapshots without any stay as they were.
  const sidecars = istioObjects<Sidecar>(clusters, 'Sidecar');
  if (sidecars.length > 0) Object.assign(content, { sidecars });
  const authorizationPolicies = istioObjects<AuthorizationPolicy>(clusters, 'AuthorizationPolicy');
  if (authorizationPolicies.length > 0) Object.assign(content, { authorizationPolicies });
  const peerAuthentications = istioObjects<PeerAuthentication>(clusters, 'PeerAuthentication');
  if (peerAuthentications.length > 0) Object.assign(content, { peerAuthentications });
  const version = createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 12);
  return { ...content, version };
}

export function proxyFor(pod: Pod, kind: ProxyIdentity['kind'], domainSuffix = 'cluster.local'): ProxyIdentity {
  const type = kind === 'router' ? 'router' : 'sidecar';
  return {
    id: `${type}~${pod.ip}~${pod.name}.${pod.namespace}~${pod.namespace}.svc.${domainSuffix}`,
    kind,
    namespace: pod.namespace,
    cluster: pod.cluster,
    labels: pod.labels,
    ip: pod.ip,
    ...(kind === 'sidecar' ? { appIp: pod.appIp } : {}),
    podName: pod.name,
  };
}

export type ScenarioRule = 'destinationrule' | 'virtualservice' | 'gateway' | 'gateway-canary';

const RULE_FILES: Record<ScenarioRule, string> = {
  destinationrule: 'helloworld-destinationrule.yaml',
  virtualservice: 'helloworld-virtualservice.yaml',
  gateway: 'helloworld-gateway.yaml',
  'gateway-canary': 'helloworld-gateway-canary.yaml',
};

/**
 * The scenario's workloads as the scenario applies them: helloworld Service and sleep in both
 * clusters, helloworld-v1 in cluster-1 only, v2 in cluster-2 only, the ingress gateway (with its
 * plain Service) in namespace istio-gateway of both; then the given rules, to both clusters.
 */
export function scenarioClusters(rules: ScenarioRule[] = []): FixtureCluster[] {
  const helloworld = scenarioFile('helloworld.yaml');
  const sleep = scenarioFile('sleep.yaml');
  const gatewayDeployment = scenarioFile('istio-ingressgateway/deployment.yaml');
  const gatewayService = scenarioFile('istio-ingressgateway/service.yaml');
  const clusters = [new FixtureCluster('cluster-1', 10), new FixtureCluster('cluster-2', 20)];
  clusters.forEach((cluster, i) => {
    const version = i === 0 ? 'v1' : 'v2';
    cluster.apply('sample', helloworld, (o) => o.kind === 'Service' || o.metadata.labels?.version === version);
    cluster.apply('sample', sleep);
    cluster.apply('istio-gateway', gatewayDeployment);
    cluster.apply('istio-gateway', gatewayService);
    for (const rule of rules) cluster.apply('sample', scenarioFile(RULE_FILES[rule]));
  });
  return clusters;
}

/** A canary VirtualService: 80 % to subset v1, 20 % to v3, which no DestinationRule defines (Istio keeps the route: that share is 503). */
export const MISSING_SUBSET_CANARY = `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: helloworld}
spec:
  hosts: [helloworld]
  http:
  - route:
    - {destination: {host: helloworld, subset: v1}, weight: 80}
    - {destination: {host: helloworld, subset: v3}, weight: 20}
`;
