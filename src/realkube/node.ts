// A node joining one real cluster (control-plane.ts): the process kubelet (local/kubelet) over the
// real API server. It authenticates as `system:node:<name>` (group system:nodes) with a client
// certificate of the cluster CA, so the Node authorizer and the NodeRestriction admission plugin give it
// node rights only; it registers its core/v1 Node (Ready, its InternalIP = the kubelet's host IP
// 127.s.0.1, capacity, kubelet v1.34.4, the kubelet port), renews its Lease in kube-node-lease every
// 10 s and the Ready condition's heartbeat every minute, as the real kubelet. Pods come and go through
// remote-store.ts; their tokens by TokenRequest; `kubectl logs` reaches kubelet-server.ts on :10250.
// No kube-scheduler runs: the node binds the pods it takes, as `system:kube-scheduler`.
import { existsSync, readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { StatusError } from '../k8s/status.js';
import { POD_TYPE } from '../local/kubelet/events.js';
import { appIpOf, hostIpOf } from '../local/kubelet/ip-allocator.js';
import { SIDECAR_CONTAINER } from '../registry/build.js';
import { asPod } from '../local/kubelet/pod-types.js';
import { startKubelet, type Kubelet } from '../local/kubelet/kubelet.js';
import type { PodTokenIssuer } from '../local/kubelet/pod-token.js';
import { ApiClient, isRetryable } from './api-client.js';
import type { RealControlPlane } from './control-plane.js';
import { loadOrCreateNodeCredentials } from './control-plane-pki.js';
import { startKubeletServer, type KubeletServer } from './kubelet-server.js';
import { KUBELET_PORT, KUBELET_VERSION, LEASE_RENEW_MS, leaseObject, microTime, NODE_LEASE_NAMESPACE, nodeObject, nodeStatus, type MachineFacts, type NodeFacts } from './node-object.js';
import { RemoteStore } from './remote-store.js';

export interface RealNodeOptions {
  cluster: RealControlPlane;
  /** e.g. `${cluster.name}-node` */
  nodeName: string;
  /** The cluster's pod subnet octet (the local clusters' address plan). */
  subnetOctet: number;
  /** Kubelet logs, pids, pod dirs. */
  stateDir: string;
  log: (line: string) => void;
  /** The kubelet API port on the node's InternalIP; 10250 when absent. */
  kubeletPort?: number;
  /** How often the Ready condition's heartbeat is written; 60 s when absent (the Lease is renewed every 10 s regardless). */
  statusIntervalMs?: number;
}

export interface RealNode {
  nodeName: string;
  kubelet: Kubelet;
  stop(): Promise<void>;
}

const NODE_STATUS_INTERVAL_MS = 60_000;

/** Resolves when the Node is Ready and the kubelet's watch is running. */
export async function startRealNode(opts: RealNodeOptions): Promise<RealNode> {
  const { cluster, nodeName } = opts;
  const log = (line: string) => opts.log(`[${cluster.name}/${nodeName}] ${line}`);
  const hostIp = hostIpOf(opts.subnetOctet);
  const creds = await loadOrCreateNodeCredentials(cluster.pki, nodeName, hostIp);
  const node = new ApiClient({ server: cluster.server, caPem: cluster.caPem, certPem: creds.nodeCertPem, keyPem: creds.nodeKeyPem, user: `system:node:${nodeName}`, userAgent: `kubelet/${KUBELET_VERSION} (linux) meshwork` });
  const binder = new ApiClient({ server: cluster.server, caPem: cluster.caPem, certPem: creds.schedulerCertPem, keyPem: creds.schedulerKeyPem, user: 'system:kube-scheduler', userAgent: `kube-scheduler/${KUBELET_VERSION} (linux) meshwork` });
  const facts: NodeFacts = { nodeName, hostIp, kubeletPort: opts.kubeletPort ?? KUBELET_PORT, machine: machineFacts() };
  const startedAt = Date.now();

  const nodeUid = await registerNode(node, facts);
  log(`registered Node ${nodeName} (InternalIP ${hostIp}, kubelet port ${facts.kubeletPort})`);

  const store = new RemoteStore({ node, binder, nodeName, log });
  let kubelet: Kubelet | undefined;
  let server: KubeletServer | undefined;
  const timers: NodeJS.Timeout[] = [];
  let stopped = false;
  const stopAll = async (): Promise<void> => {
    stopped = true;
    for (const t of timers) clearInterval(t);
    await server?.close();
    await kubelet?.stop();
    await store.flush(5000);
    store.close();
  };
  try {
    await store.synced;
    kubelet = startKubelet({
      store,
      clusterName: cluster.name,
      nodeName,
      subnetOctet: opts.subnetOctet,
      stateDir: opts.stateDir,
      serviceAccountTokens: tokenRequestIssuer(node, cluster),
      log,
    });
    await kubelet.ready;
    server = await startKubeletServer({ host: hostIp, port: facts.kubeletPort, caPem: cluster.caPem, certPem: creds.servingCertPem, keyPem: creds.servingKeyPem, runtime: kubelet, podAddresses: (ns, name) => podAddresses(store, ns, name), nodeName, log });
    await reportStatus(node, facts, startedAt);
    await renewLease(node, nodeName, nodeUid);
  } catch (err) {
    await stopAll();
    throw err;
  }
  const every = (ms: number, what: string, run: () => Promise<void>) => {
    timers.push(
      setInterval(() => {
        if (stopped) return;
        run().catch((err: Error) => log(`${what} failed: ${err.message}`));
      }, ms),
    );
  };
  every(LEASE_RENEW_MS, `renewing Lease ${NODE_LEASE_NAMESPACE}/${nodeName}`, () => renewLease(node, nodeName, nodeUid));
  every(opts.statusIntervalMs ?? NODE_STATUS_INTERVAL_MS, `reporting the status of Node ${nodeName}`, () => reportStatus(node, facts, startedAt));
  log(`Node ${nodeName} Ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; kubelet API on https://${hostIp}:${facts.kubeletPort}`);

  let stopping: Promise<void> | undefined;
  return {
    nodeName,
    kubelet: kubelet!,
    stop: () => (stopping ??= stopAll()),
  };
}

/** Creates the Node (or finds it from an earlier start); returns its uid. */
async function registerNode(api: ApiClient, facts: NodeFacts): Promise<string> {
  try {
    const created = await api.send<{ metadata: { uid: string } }>('POST', '/api/v1/nodes', { body: nodeObject(facts) });
    return created.metadata.uid;
  } catch (err) {
    if (!(err instanceof StatusError && err.code === 409)) throw err;
  }
  const existing = await api.send<{ metadata: { uid: string } }>('GET', `/api/v1/nodes/${facts.nodeName}`);
  return existing.metadata.uid;
}

async function reportStatus(api: ApiClient, facts: NodeFacts, readySince: number): Promise<void> {
  await api.send('PATCH', `/api/v1/nodes/${facts.nodeName}/status`, { body: { status: nodeStatus(facts, { readySince, now: Date.now() }) }, contentType: 'application/merge-patch+json' });
}

async function renewLease(api: ApiClient, nodeName: string, nodeUid: string): Promise<void> {
  const path = `/apis/coordination.k8s.io/v1/namespaces/${NODE_LEASE_NAMESPACE}/leases`;
  const lease = leaseObject(nodeName, nodeUid, Date.now());
  try {
    await api.send('PATCH', `${path}/${nodeName}`, { body: { spec: { holderIdentity: nodeName, renewTime: microTime(Date.now()) } }, contentType: 'application/merge-patch+json' });
  } catch (err) {
    if (!(err instanceof StatusError && err.code === 404)) throw err;
    await api.send('POST', path, { body: lease });
  }
}

/** The real kubelet's TokenRequest: a token of the pod's service account bound to the pod, asked for as the node. */
function tokenRequestIssuer(api: ApiClient, cluster: RealControlPlane): PodTokenIssuer {
  return {
    clusterName: cluster.name,
    server: cluster.server,
    caPem: cluster.caPem,
    async issue(pod, expirationSeconds) {
      const path = `/api/v1/namespaces/${pod.namespace}/serviceaccounts/${pod.serviceAccountName}/token`;
      const body = {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { audiences: [], expirationSeconds, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.name, uid: pod.uid } },
      };
      for (let attempt = 1; ; attempt++) {
        try {
          const answer = await api.send<{ status: { token: string; expirationTimestamp: string } }>('POST', path, { body });
          return { token: answer.status.token, expirationTimestamp: Date.parse(answer.status.expirationTimestamp) };
        } catch (err) {
          // The Node authorizer learns of the pod's binding from its own watch, a moment after it.
          const early = err instanceof StatusError && err.code === 403 && attempt < 20;
          if (!early && !(isRetryable(err) && attempt < 5)) throw err;
          await new Promise((r) => setTimeout(r, 100 * attempt));
        }
      }
    },
    // The API server's ServiceAccount admission has decided: it gave the pod a projected token volume, or not.
    wantsToken(pod) {
      return (pod.spec.volumes ?? []).some((v) => ((v as { projected?: { sources?: Array<{ serviceAccountToken?: unknown }> } }).projected?.sources ?? []).some((s) => s.serviceAccountToken !== undefined));
    },
  };
}

/** A pod's IP, and first its app's IP when a sidecar owns the pod IP (pod-worker.ts): "localhost in the pod" is both. */
function podAddresses(store: RemoteStore, namespace: string, name: string): string[] {
  const obj = store.get(POD_TYPE, namespace, name);
  if (!obj) return [];
  const pod = asPod(obj);
  const ip = pod.status?.podIP;
  if (!ip) return [];
  return pod.spec.containers.some((c) => c.name === SIDECAR_CONTAINER) ? [appIpOf(ip), ip] : [ip];
}

function readTrimmed(path: string, fallback: string): string {
  try {
    return existsSync(path) ? readFileSync(path, 'utf8').trim() || fallback : fallback;
  } catch {
    return fallback;
  }
}

function machineFacts(): MachineFacts {
  const osRelease = readTrimmed('/etc/os-release', '');
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1];
  return {
    cpus: cpus().length,
    memoryBytes: totalmem(),
    arch: process.arch,
    kernelVersion: release(),
    osImage: pretty ?? 'Linux',
    machineID: readTrimmed('/etc/machine-id', 'unknown'),
    bootID: readTrimmed('/proc/sys/kernel/random/boot_id', 'unknown'),
  };
}
