// One local cluster: object store, API server, controllers and process kubelet in this process;
// kube-proxy runs as the node's static pod (it outlives this process, as every pod does).
// Its identity (port, admin token, CA, service-account signing key) is persisted in its folder so a
// restart serves the same endpoint with the same credentials, and clients (kubeconfig, remote
// secrets, pods' tokens) keep working. Pods never get the admin token: each gets a token of its own
// service account (kubelet/pod-token.ts), and the API server authorizes it by RBAC.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { findByKind } from '../k8s/kinds.js';
import { registerClusterObjects } from './cluster-objects.js';
import { applyDefaults } from '../config/defaults.js';
import { validateObject } from '../config/validate.js';
import { clusterAddresses, nextClusterIp } from './addresses.js';
import { mutatingWebhookAdmission, validatingWebhookAdmission } from './admission/webhooks.js';
import { storeServiceResolver } from './admission/service-resolver.js';
import { startApiServer } from './apiserver/server.js';
import { storeWritingAs } from './apiserver/tracked-store.js';
import { serviceAccountAdmission } from './admission/service-account.js';
import { ServiceAccountTokens } from './serviceaccount/tokens.js';
import { loadOrCreateSigningKey } from './serviceaccount/signing-key.js';
import type { PodTokenIssuer } from './kubelet/pod-token.js';
import { keepKubeProxyPod, kubeProxyPodName, readyKubeProxy } from './kubeproxy/static-pod.js';
import { startControllers } from './controllers/index.js';
import { startKubelet } from './kubelet/kubelet.js';
import type { PodNetworkHost } from './kubelet/pod-network-host.js';
import { INTERCEPTION_NODE_LABEL } from '../config/interception.js';
import { nextIpIn, type ClusterNetworkBlocks } from './pod-network-addresses.js';
import { createCertificateAuthority, issueServerCertificate } from '../security/pki/authority.js';
import { openSqliteStore } from './store/sqlite-store.js';
import type { ObjectStore } from './store/store.js';

export interface LocalClusterOptions {
  name: string;
  subnetOctet: number;
  /** This cluster's own folder (store, certificates, logs). */
  dir: string;
  /** Preferred API port; taken only at first start, then the persisted one is reused. */
  preferredPort?: number;
  log: (line: string) => void;
  /**
   * Pods captured by iptables run in network namespaces of their own on the mesh's bridge, and
   * ClusterIPs come from `blocks.services` (pod-network-addresses.ts); absent: everything on loopback.
   */
  podNetwork?: { host: PodNetworkHost; blocks: ClusterNetworkBlocks };
}

export interface LocalCluster {
  name: string;
  server: string;
  caPem: string;
  token: string;
  store: ObjectStore;
  stop(): Promise<void>;
}

interface ClusterIdentity {
  name: string;
  subnetOctet: number;
  port: number;
  token: string;
  /** Made with `--interception iptables`: its ClusterIPs are in the pod network's range. */
  interception?: 'iptables';
}

export async function startLocalCluster(opts: LocalClusterOptions): Promise<LocalCluster> {
  mkdirSync(opts.dir, { recursive: true });
  const addresses = clusterAddresses(opts.subnetOctet);
  const identity = await loadOrCreateIdentity(opts, addresses.apiServerIp);
  // Captured pods reach the API server on the bridge (their 127.s.0.1 is their own loopback).
  const podApiServerIp = opts.podNetwork?.blocks.apiServerIp;
  const pki = await loadOrCreatePki(opts.dir, opts.name, addresses.apiServerIp, podApiServerIp ? [podApiServerIp] : []);
  if (podApiServerIp) opts.podNetwork!.host.addHostAddress(podApiServerIp);
  const log = (line: string) => opts.log(`[${opts.name}] ${line}`);

  const server = `https://${addresses.apiServerIp}:${identity.port}`;
  // Earlier versions gave every pod this kubeconfig with the admin token: it must not linger.
  rmSync(join(opts.dir, 'pod-kubeconfig'), { force: true });
  const serviceAccountTokens = new ServiceAccountTokens(loadOrCreateSigningKey(join(opts.dir, 'pki')));

  const store = openSqliteStore({ path: join(opts.dir, 'store.db') });
  const admission = [serviceAccountAdmission(store), mutatingWebhookAdmission({ store, resolveService: storeServiceResolver(store), log: (line) => log(`admission ${line}`) })];
  const validatingAdmission = [validatingWebhookAdmission({ store, resolveService: storeServiceResolver(store), log: (line) => log(`admission ${line}`) })];
  // In-process writers are recorded in managedFields under the names a real cluster shows.
  const controllerStore = storeWritingAs(store, 'kube-controller-manager');
  const kubeletStore = storeWritingAs(store, 'kubelet');
  registerClusterObjects(storeWritingAs(store, 'kube-apiserver'), {
    nodeName: `${opts.name}-node`,
    nodeIp: addresses.apiServerIp,
    now: Date.now(),
    ...(opts.podNetwork ? { nodeLabels: { [INTERCEPTION_NODE_LABEL]: 'iptables' } } : {}),
  });
  const pods = findByKind('', 'Pod');
  if (!pods) throw new Error('resource table lacks core/v1 Pod');
  const controllers = startControllers({
    store: controllerStore,
    clusterName: opts.name,
    log,
    serviceAccountTokens: { tokens: serviceAccountTokens, caPem: pki.caPem },
    // Controllers create pods through admission, so Deployment pods get their sidecar as in a real cluster.
    createPod: async (pod) => {
      let admitted = pod;
      for (const hook of admission) admitted = await hook({ operation: 'CREATE', type: pods, object: admitted });
      return controllerStore.create(pods, applyDefaults(pods, admitted));
    },
  });
  const kubelet = startKubelet({
    serviceAccountTokens: podTokenIssuer(store, serviceAccountTokens, { clusterName: opts.name, server, caPem: pki.caPem }),
    store: kubeletStore,
    clusterName: opts.name,
    nodeName: `${opts.name}-node`,
    subnetOctet: opts.subnetOctet,
    stateDir: join(opts.dir, 'kubelet'),
    log,
    ...(opts.podNetwork ? { podNetwork: { ...opts.podNetwork.host.forCluster(opts.podNetwork.blocks.pods), apiServer: `https://${podApiServerIp}:${identity.port}` } } : {}),
  });
  const services = findByKind('', 'Service');
  if (!services) throw new Error('resource table lacks core/v1 Service');
  const api = await startApiServer({
    store,
    host: addresses.apiServerIp,
    port: identity.port,
    tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem },
    token: identity.token,
    serviceAccounts: serviceAccountTokens,
    clusterName: opts.name,
    podRuntime: kubelet,
    validate: validateObject,
    applyDefaults,
    admission,
    validatingAdmission,
    allocateClusterIP: () => {
      const taken = new Set<string>();
      for (const svc of store.list(services).items) {
        const ip = (svc.spec as { clusterIP?: string } | undefined)?.clusterIP;
        if (ip) taken.add(ip);
      }
      return opts.podNetwork ? nextIpIn(opts.podNetwork.blocks.services, taken, 'ClusterIP') : nextClusterIp(addresses.serviceOctet, taken);
    },
    log: (line) => log(`api ${line}`),
  });
  const podApiRelay = podApiServerIp ? await relayTcp(podApiServerIp, identity.port, addresses.apiServerIp, log) : undefined;
  await kubelet.ready;
  const stopKeepingKubeProxy = keepKubeProxyPod(kubeletStore, `${opts.name}-node`, log);
  await waitForKubeProxy(store, `${opts.name}-node`, join(opts.dir, 'kubelet', 'logs'));

  return {
    name: opts.name,
    server,
    caPem: pki.caPem,
    token: identity.token,
    store,
    async stop() {
      await new Promise<void>((resolve) => (podApiRelay ? podApiRelay.close(() => resolve()) : resolve()));
      await api.close();
      controllers.stop();
      stopKeepingKubeProxy();
      await kubelet.stop();
      store.close();
    },
  };
}

/** The kubelet's TokenRequest: a token of the pod's service account, bound to the pod. */
function podTokenIssuer(store: ObjectStore, tokens: ServiceAccountTokens, cluster: { clusterName: string; server: string; caPem: string }): PodTokenIssuer {
  const serviceAccounts = findByKind('', 'ServiceAccount');
  if (!serviceAccounts) throw new Error('resource table lacks core/v1 ServiceAccount');
  return {
    ...cluster,
    issue(pod, expirationSeconds) {
      const sa = store.get(serviceAccounts, pod.namespace, pod.serviceAccountName);
      if (!sa) throw new Error(`serviceaccount "${pod.serviceAccountName}" not found in namespace ${pod.namespace}`);
      return tokens.issueBound({ namespace: pod.namespace, serviceAccount: { name: pod.serviceAccountName, uid: sa.metadata.uid }, pod: { name: pod.name, uid: pod.uid }, expirationSeconds });
    },
  };
}

/** ClusterIPs work once kube-proxy is Ready: every listener of the current Services is open. */
async function waitForKubeProxy(store: ObjectStore, nodeName: string, logDir: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!readyKubeProxy(store, nodeName)) {
    if (Date.now() > deadline) {
      throw new Error(`kube-system/${kubeProxyPodName(nodeName)} was not Ready after ${timeoutMs / 1000} s: ClusterIPs do not work (its log: ${logDir}/kube-system_${kubeProxyPodName(nodeName)}_kube-proxy.log)`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function loadOrCreateIdentity(opts: LocalClusterOptions, host: string): Promise<ClusterIdentity> {
  const file = join(opts.dir, 'cluster.json');
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as ClusterIdentity;
    if (saved.subnetOctet !== opts.subnetOctet) {
      throw new Error(
        `${opts.name} was created with subnet octet ${saved.subnetOctet} (127.${saved.subnetOctet}.0.0/16), not ${opts.subnetOctet}: ` +
          `use the same --subnet-base as before, or a new --state-dir`,
      );
    }
    const wanted = opts.podNetwork ? 'iptables' : 'http_proxy';
    if ((saved.interception ?? 'http_proxy') !== wanted) {
      throw new Error(`${opts.name} was created with --interception ${saved.interception ?? 'http_proxy'}, not ${wanted}: its Services' ClusterIPs belong to that mode; use the same --interception as before, or a new --state-dir`);
    }
    return saved;
  }
  const port = await pickPort(host, opts.preferredPort ?? 6443);
  const identity: ClusterIdentity = { name: opts.name, subnetOctet: opts.subnetOctet, port, token: randomBytes(24).toString('base64url'), ...(opts.podNetwork ? { interception: 'iptables' as const } : {}) };
  writeFileSync(file, JSON.stringify(identity, null, 2) + '\n', { mode: 0o600 });
  return identity;
}

/** The preferred port if free on that address, else one the kernel picks. */
async function pickPort(host: string, preferred: number): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(undefined));
      server.listen({ host, port, exclusive: true }, () => {
        const address = server.address();
        const chosen = typeof address === 'object' && address ? address.port : undefined;
        server.close(() => resolve(chosen));
      });
    });
  const port = (await tryListen(preferred)) ?? (await tryListen(0));
  if (port === undefined) throw new Error(`cannot listen on ${host}: is 127.0.0.0/8 routed to loopback on this machine?`);
  return port;
}

interface ClusterPki {
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
}

/**
 * Passes TCP connections on `host:port` to `target:port` (TLS end to end: the API server's certificate
 * names both addresses): the API server as captured pods reach it on the bridge.
 */
async function relayTcp(host: string, port: number, target: string, log: (line: string) => void): Promise<Server> {
  const server = createServer((client) => {
    const upstream = connect({ host: target, port });
    client.pipe(upstream).pipe(client);
    const fail = (err: Error) => {
      log(`api relay ${host}:${port}: ${err.message}`);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', fail);
    upstream.on('error', fail);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => resolve());
  });
  return server;
}

async function loadOrCreatePki(dir: string, name: string, apiServerIp: string, extraIps: readonly string[] = []): Promise<ClusterPki> {
  const pkiDir = join(dir, 'pki');
  const files = { ca: join(pkiDir, 'ca.crt'), caKey: join(pkiDir, 'ca.key'), cert: join(pkiDir, 'apiserver.crt'), key: join(pkiDir, 'apiserver.key') };
  if (Object.values(files).every((f) => existsSync(f))) {
    return { caPem: readFileSync(files.ca, 'utf8'), serverCertPem: readFileSync(files.cert, 'utf8'), serverKeyPem: readFileSync(files.key, 'utf8') };
  }
  mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
  const ca = await createCertificateAuthority(`${name}-ca`);
  const server = await issueServerCertificate(ca, {
    commonName: 'kube-apiserver',
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    ipAddresses: [apiServerIp, '127.0.0.1', ...extraIps],
  });
  writeFileSync(files.ca, ca.certPem);
  writeFileSync(files.caKey, ca.keyPem, { mode: 0o600 });
  writeFileSync(files.cert, server.certPem);
  writeFileSync(files.key, server.keyPem, { mode: 0o600 });
  return { caPem: ca.certPem, serverCertPem: server.certPem, serverKeyPem: server.keyPem };
}
