// Everything the control plane reads from Kubernetes: its own cluster (registry + Istio config +
// Kubernetes Ingresses + mesh config + remote secrets) and every member cluster a remote secret names.
// Remote secrets are reconciled at run time: a new key starts a cluster's informers, a changed
// kubeconfig replaces them, a removed secret or key stops them.

import { CoreV1Api, KubeConfig, type V1Pod, type V1Secret } from '@kubernetes/client-node';
import type { ClusterObjects, IstioConfigObjects } from '../registry/build.js';
import type { Clock } from '../clock.js';
import type { IngressStatusInputs } from '../ingress/status.js';
import { DEFAULT_TRUST_DOMAIN } from '../security/spiffe.js';
import type { ChangedObject } from './propagation-report.js';
import { healthOf, watchIstioConfig, watchMemberCluster, type ClusterWatch, type ConfigWatch, type WatchHealth } from './cluster-watch.js';
import { watchIngress, type IngressWatch } from './ingress-watch.js';
import { watchMeshConfig, type MeshConfigWatch } from './mesh-config.js';
import { MULTICLUSTER_LABEL } from '../install/names.js';
import { parseRemoteSecret, planClusters, type RemoteCluster } from './remote-secrets.js';
import { startResourceWatch, type ResourceWatch } from '../k8s/client/resource-watch.js';

export interface MeshSourcesOptions {
  clusterId: string;
  kubeConfig: KubeConfig;
  /** Where remote secrets and the mesh config live (istio-system). */
  namespace: string;
  /** The revision whose mesh config (ConfigMap istio-<revision>) applies. */
  revision: string;
  /** istiod's K8S_INGRESS_NS: where the Gateways made of Ingresses go and the ingress Service is. */
  ingressNamespace: string;
  /** Any change of anything watched. */
  onChange: () => void;
  /** An Istio config object of the own cluster changed only its status (not a config change). */
  onConfigStatusChange?: () => void;
  /** An Ingress's status or a Node changed: what only the Ingress status reads. */
  onIngressStatusChange?: () => void;
  /** A Service (of any member cluster) or an Istio config object (of the own cluster) changed: config propagation tracking. */
  onConfigEvent?: (change: ChangedObject) => void;
  /** Every member cluster's Services get their endpoints from their Pods, not EndpointSlices (pod-endpoints.ts). */
  endpointsFromPods?: boolean;
  log: (line: string) => void;
  clock?: Clock;
}

/** What the rest of the control plane reads; MeshSources implements it, tests may fake it. */
export interface MeshView {
  clusters(): ClusterObjects[];
  config(): IstioConfigObjects[];
  findPod(cluster: string, namespace: string, name: string): V1Pod | undefined;
}

export interface SourcesStatus {
  ready: boolean;
  clusters: Array<{ clusterId: string; remote: boolean; secret?: string; synced: boolean; watches: WatchHealth[] }>;
  config: WatchHealth[];
  secrets: WatchHealth;
  /** Remote secret keys that could not be used. */
  secretProblems: string[];
}

interface RemoteEntry {
  cluster: RemoteCluster;
  watch: ClusterWatch;
}

export class MeshSources implements MeshView {
  private readonly local: ClusterWatch;
  private readonly configWatch: ConfigWatch;
  private readonly ingressWatch: IngressWatch;
  private readonly meshConfig: MeshConfigWatch;
  private readonly secrets: ResourceWatch<V1Secret>;
  /** Every Secret of the own cluster: gateways' credentialName certificates (Istio's credentials controller). */
  private readonly credentialSecrets: ResourceWatch<V1Secret>;
  private readonly remotes = new Map<string, RemoteEntry>();
  private secretProblems: string[] = [];
  private reconciling: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly opts: MeshSourcesOptions) {
    const common = { log: opts.log, onChange: opts.onChange, ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.onConfigEvent ? { onConfigEvent: opts.onConfigEvent } : {}) };
    this.local = watchMemberCluster(opts.clusterId, opts.kubeConfig, { ...common, endpointsFromPods: opts.endpointsFromPods ?? false });
    this.configWatch = watchIstioConfig(opts.clusterId, opts.kubeConfig, { ...common, ...(opts.onConfigStatusChange ? { onStatusChange: opts.onConfigStatusChange } : {}) });
    this.ingressWatch = watchIngress(opts.clusterId, opts.kubeConfig, { ...common, ...(opts.onIngressStatusChange ? { onStatusChange: opts.onIngressStatusChange } : {}) });
    this.meshConfig = watchMeshConfig({ kubeConfig: opts.kubeConfig, namespace: opts.namespace, revision: opts.revision, log: opts.log, onChange: opts.onChange, ...(opts.clock ? { clock: opts.clock } : {}) });
    const core = opts.kubeConfig.makeApiClient(CoreV1Api);
    const labelSelector = `${MULTICLUSTER_LABEL}=true`;
    this.secrets = startResourceWatch<V1Secret>({
      kubeConfig: opts.kubeConfig,
      path: `/api/v1/namespaces/${opts.namespace}/secrets`,
      list: () => core.listNamespacedSecret({ namespace: opts.namespace, labelSelector }),
      labelSelector,
      what: `${opts.clusterId} remote secrets in ${opts.namespace}`,
      // Chained so that stops and starts of one reconcile finish before the next one plans.
      onChange: () => {
        this.reconciling = this.reconciling.then(() => this.reconcileSecrets());
      },
      log: opts.log,
      ...(opts.clock ? { clock: opts.clock } : {}),
    });
    this.credentialSecrets = startResourceWatch<V1Secret>({
      kubeConfig: opts.kubeConfig,
      path: '/api/v1/secrets',
      list: () => core.listSecretForAllNamespaces(),
      what: `${opts.clusterId} secrets (gateway credentials)`,
      onChange: opts.onChange,
      log: opts.log,
      ...(opts.clock ? { clock: opts.clock } : {}),
    });
  }

  clusters(): ClusterObjects[] {
    return [this.local.objects(), ...[...this.remotes.values()].map((r) => r.watch.objects())];
  }

  config(): IstioConfigObjects[] {
    // Each primary serves the config of its own cluster (multi-primary: the same rules are applied to
    // every cluster), its Kubernetes Ingresses too, as istiod reads those of its config cluster.
    const ingress = { ingresses: this.ingressWatch.ingresses(), ingressClasses: this.ingressWatch.ingressClasses(), mesh: this.meshConfig.ingress(), ingressNamespace: this.opts.ingressNamespace };
    const outboundTrafficMode = this.meshConfig.outboundTrafficMode();
    const trustDomain = this.meshConfig.trustDomain();
    return [{
      ...this.configWatch.objects(),
      ingress,
      ...(outboundTrafficMode ? { outboundTrafficMode } : {}),
      ...(trustDomain !== DEFAULT_TRUST_DOMAIN ? { trustDomain } : {}),
      secrets: this.credentialSecrets.list(),
    }];
  }

  /** meshConfig.trustDomain (cluster.local when not set): the CA's SPIFFE IDs. */
  trustDomain(): string {
    return this.meshConfig.trustDomain();
  }

  /** What the status of the own cluster's Ingresses is made of. */
  ingressStatusInputs(): IngressStatusInputs {
    const own = this.local.objects();
    return {
      ingresses: this.ingressWatch.ingresses(),
      ingressClasses: this.ingressWatch.ingressClasses(),
      mesh: this.meshConfig.ingress(),
      ingressNamespace: this.opts.ingressNamespace,
      services: own.services,
      pods: own.pods,
      nodes: this.ingressWatch.nodes(),
    };
  }

  findPod(cluster: string, namespace: string, name: string): V1Pod | undefined {
    if (cluster === this.opts.clusterId) return this.local.findPod(namespace, name);
    return this.remotes.get(cluster)?.watch.findPod(namespace, name);
  }

  remoteClusterIds(): string[] {
    return [...this.remotes.keys()].sort();
  }

  /** Every member cluster listed too: the whole mesh is known (analysis findings can be trusted). */
  allSynced(): boolean {
    return this.ready() && [...this.remotes.values()].every((r) => r.watch.synced());
  }

  /** Own cluster, its Istio config, Ingresses, mesh config and remote secrets listed: enough to serve its proxies. */
  ready(): boolean {
    return this.local.synced() && this.configWatch.synced() && this.ingressWatch.synced() && this.meshConfig.synced() && this.secrets.synced() && this.credentialSecrets.synced();
  }

  /** Resolves once pending remote-secret changes have been applied (for tests and orderly stops). */
  settled(): Promise<void> {
    return this.reconciling;
  }

  status(): SourcesStatus {
    return {
      ready: this.ready(),
      clusters: [
        { clusterId: this.opts.clusterId, remote: false, synced: this.local.synced(), watches: this.local.health() },
        ...[...this.remotes.values()]
          .sort((a, b) => a.cluster.clusterId.localeCompare(b.cluster.clusterId))
          .map((r) => ({ clusterId: r.cluster.clusterId, remote: true, secret: r.cluster.secret, synced: r.watch.synced(), watches: r.watch.health() })),
      ],
      config: [...this.configWatch.health(), ...this.ingressWatch.health(), healthOf(this.meshConfig.watch), healthOf(this.credentialSecrets)],
      secrets: healthOf(this.secrets),
      secretProblems: [...this.secretProblems],
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.secrets.stop();
    await this.reconciling;
    await Promise.all([
      this.credentialSecrets.stop(),
      this.local.stop(),
      this.configWatch.stop(),
      this.ingressWatch.stop(),
      this.meshConfig.stop(),
      ...[...this.remotes.values()].map((r) => r.watch.stop()),
    ]);
    this.remotes.clear();
  }

  private async reconcileSecrets(): Promise<void> {
    if (this.stopped) return;
    const desired: RemoteCluster[] = [];
    const problems: string[] = [];
    for (const secret of this.secrets.list()) {
      const parsed = parseRemoteSecret(secret, this.opts.clusterId);
      desired.push(...parsed.clusters);
      problems.push(...parsed.problems);
    }
    for (const p of problems) if (!this.secretProblems.includes(p)) this.opts.log(`control-plane: ${p}`);
    this.secretProblems = problems;

    const current = new Map([...this.remotes].map(([id, r]) => [id, r.cluster]));
    const plan = planClusters(current, desired);
    if (plan.start.length === 0 && plan.stop.length === 0) return;
    for (const id of plan.stop) {
      const entry = this.remotes.get(id);
      this.remotes.delete(id);
      this.opts.log(`control-plane: member cluster ${id} removed`);
      await entry?.watch.stop();
    }
    for (const cluster of plan.start) {
      if (this.stopped) return;
      try {
        const kubeConfig = new KubeConfig();
        kubeConfig.loadFromString(cluster.kubeconfig);
        const watch = watchMemberCluster(cluster.clusterId, kubeConfig, {
          log: this.opts.log,
          onChange: this.opts.onChange,
          ...(this.opts.clock ? { clock: this.opts.clock } : {}),
          ...(this.opts.onConfigEvent ? { onConfigEvent: this.opts.onConfigEvent } : {}),
          endpointsFromPods: this.opts.endpointsFromPods ?? false,
        });
        this.remotes.set(cluster.clusterId, { cluster, watch });
        this.opts.log(`control-plane: member cluster ${cluster.clusterId} added from secret ${cluster.secret} (${kubeConfig.getCurrentCluster()?.server ?? 'no server'})`);
      } catch (err) {
        const message = `secret ${cluster.secret}: key ${cluster.clusterId}: the kubeconfig cannot be used: ${err instanceof Error ? err.message : String(err)}`;
        this.secretProblems.push(message);
        this.opts.log(`control-plane: ${message}`);
      }
    }
    this.opts.onChange();
  }
}
