// `meshwork control-plane`: one per cluster (multi-primary). Watches its own cluster and every
// cluster its remote secrets name, and serves xDS (ADS) and the CA over TLS on 15012 (secure-server.ts),
// plaintext xDS only when asked (loopback only), plus the debug port. Its CA is the cluster's
// intermediate in Secret istio-system/cacerts: without it the control plane does not start.

import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { loadDefault, loadKubeConfig } from '../k8s/client/client.js';
import { SnapshotCache } from '../xds/cache.js';
import type { Clock } from '../clock.js';
import { isIP } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { createXdsServer, listenGrpc, type XdsServer } from '../xds/server.js';
import { loadCaCerts } from '../install/mesh-ca.js';
import { discoveryIp } from '../install/discovery-address.js';
import { istiodName, MESH_CONFIG_KEY, meshConfigMapName } from '../install/names.js';
import { issueServingCertificate, issuingCa } from '../security/pki/sign.js';
import { startSecureServer } from './secure-server.js';
import { TokenReviewer } from './token-review.js';
import { startDebugServer } from './debug-server.js';
import { ControlPlaneMetrics } from './metrics.js';
import { MeshSources } from './mesh-sources.js';
import { ProxyPusher } from './pusher.js';
import { ConfigPropagationTracker } from './propagation.js';
import { ConfigStatusReporter } from './status-reporter.js';
import { IngressStatusSyncer } from './ingress-status.js';
import { DEFAULT_INGRESS_NAMESPACE } from '../ingress/class.js';
import { parseMeshConfig } from './mesh-config.js';

export interface ControlPlaneOptions {
  /** The member cluster this control plane runs in (CLUSTER_ID of its proxies). */
  clusterId: string;
  /** Without kubeconfig or context: client-node's default (KUBECONFIG, ~/.kube/config, or in-cluster). */
  kubeconfig?: string;
  context?: string;
  /** Where remote secrets live: istio-system. */
  namespace: string;
  /** The mesh revision this control plane serves (asm-managed-stable): its mesh config is ConfigMap istio-<revision>. */
  revision: string;
  /** istiod's K8S_INGRESS_NS: where Gateways made of Kubernetes Ingresses go and the ingress Service is (default istio-system). */
  ingressNamespace?: string;
  /**
   * xDS addresses: the TLS port (XDS_SECURE_PORT; ADS and the CA, callers authenticated) and, only
   * when given, a plaintext port (loopback hosts only: it trusts whatever node a caller names).
   */
  xds: { host: string; securePort: number; plaintextPort?: number };
  /** The longest workload certificate the CA issues (default 24 h). */
  maxWorkloadCertTtlSeconds?: number;
  debug: { host: string; port: number };
  log: (line: string) => void;
  /** How long to wait for the own cluster's first list before serving anyway (default 30 s). */
  syncTimeoutMs?: number;
  /**
   * Write the analysis findings into the status of the own cluster's Istio config objects (istiod's
   * analysis in status); default true.
   */
  configStatus?: boolean;
  /**
   * Services' endpoints from their selectors and Pods instead of EndpointSlices, in every member
   * cluster: for API servers that refuse the pods' addresses in EndpointSlices (loopback pod IPs).
   */
  endpointsFromPods?: boolean;
  /** For tests. */
  debounce?: { quietMs: number; maxDelayMs: number };
  clock?: Clock;
}

export interface RunningControlPlane {
  stop(): Promise<void>;
  secureXdsPort: number;
  /** Only when asked for (ControlPlaneOptions.xds.plaintextPort). */
  plaintextXdsPort?: number;
  debugPort: number;
}

/** 127.0.0.0/8, ::1, localhost: where an unauthenticated port cannot be reached from another machine. */
export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

export async function runControlPlane(opts: ControlPlaneOptions): Promise<RunningControlPlane> {
  const log = opts.log;
  if (opts.xds.plaintextPort !== undefined && !isLoopbackHost(opts.xds.host)) {
    throw new Error(`control-plane ${opts.clusterId}: plaintext xDS (--plaintext-xds-port) serves any caller without authentication, so only on a loopback address (127.0.0.0/8, ::1), not ${opts.xds.host}`);
  }
  const kubeConfig = ownKubeConfig(opts);
  // The CA first: a control plane that cannot sign would leave every proxy without certificates.
  const ca = await loadCaCerts(kubeConfig, opts.namespace).then(issuingCa).catch((err: unknown) => {
    throw new Error(`control-plane ${opts.clusterId}: ${(err as Error).message}`);
  });
  const serving = await issueServingCertificate(ca, await servingNames(kubeConfig, opts, log));
  const cache = new SnapshotCache();
  let xds: XdsServer | undefined;
  const metrics = new ControlPlaneMetrics(() => xds?.status() ?? []);
  // On the wall clock, whatever clock drives the debounce: its times are reported as ISO dates.
  const propagation = new ConfigPropagationTracker({ clusterId: opts.clusterId, metrics });
  // The pusher exists before the sources so that their first events find it.
  let pusher: ProxyPusher | undefined;
  // Created once the caches are synced: findings of a half-listed mesh would be wrong.
  let reporter: ConfigStatusReporter | undefined;
  let ingressStatus: IngressStatusSyncer | undefined;
  const sources = new MeshSources({
    clusterId: opts.clusterId,
    kubeConfig,
    namespace: opts.namespace,
    revision: opts.revision,
    ingressNamespace: opts.ingressNamespace ?? DEFAULT_INGRESS_NAMESPACE,
    onChange: () => pusher?.changed(),
    onConfigStatusChange: () => reporter?.changed(),
    onIngressStatusChange: () => ingressStatus?.changed(),
    onConfigEvent: (change) => propagation.observed(change),
    ...(opts.endpointsFromPods ? { endpointsFromPods: true } : {}),
    log,
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  pusher = new ProxyPusher({
    clusterId: opts.clusterId,
    view: sources,
    cache,
    log,
    metrics,
    propagation,
    onRebuilt: () => {
      reporter?.changed();
      // The ingress gateway's Service, or an Ingress's class, may have changed.
      ingressStatus?.changed();
    },
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.debounce ? { debounce: opts.debounce } : {}),
  });
  const push = pusher;

  let secure: Listening | undefined;
  let plaintext: Listening | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  const debug = await startDebugServer({
    host: opts.debug.host,
    port: opts.debug.port,
    pusher: push,
    xds: () => xds,
    sources: () => sources.status(),
    configStatus: () => reporter?.stats() ?? null,
    metrics,
    propagation,
    log,
  }).catch(async (err: unknown) => {
    push.stop();
    propagation.stop();
    await sources.stop();
    throw new Error(`control-plane ${opts.clusterId}: cannot serve the debug port on ${opts.debug.host}:${opts.debug.port}: ${err instanceof Error ? err.message : String(err)}`);
  });

  // As Istio's discovery server, serve proxies only once the caches reflect the cluster: an empty
  // config pushed to a proxy would take its routes away.
  const synced = await waitFor(() => sources.ready(), opts.syncTimeoutMs ?? 30_000);
  if (!synced) {
    const waiting = sources.status();
    log(`control-plane: ${opts.clusterId}: caches not synced after ${opts.syncTimeoutMs ?? 30_000} ms; serving anyway. ` +
      `Watches: ${JSON.stringify([...waiting.clusters.flatMap((c) => c.watches), ...waiting.config, waiting.secrets].filter((w) => !w.synced))}`);
  }
  await sources.settled();
  if (opts.configStatus ?? true) {
    // Member clusters that do not answer would hold the findings back forever: after the sync
    // timeout, the findings are written with what is known.
    const graceEnds = Date.now() + (opts.syncTimeoutMs ?? 30_000);
    const created = new ConfigStatusReporter({
      kubeConfig,
      config: () => sources.config()[0],
      problems: () => push.problems().problems,
      ready: () => sources.ready() && (sources.allSynced() || Date.now() >= graceEnds),
      log,
      ...(opts.clock ? { clock: opts.clock } : {}),
    });
    reporter = created;
    graceTimer = setTimeout(() => created.changed(), opts.syncTimeoutMs ?? 30_000);
    graceTimer.unref();
  }
  ingressStatus = new IngressStatusSyncer({ kubeConfig, inputs: () => sources.ingressStatusInputs(), ready: () => sources.ready(), log, ...(opts.clock ? { clock: opts.clock } : {}) });
  push.rebuild();

  const xdsServer = createXdsServer({
    cache,
    onStreamOpen: (node, stream) => push.onStreamOpen(node, stream),
    onStreamClosed: (node) => push.onStreamClosed(node),
    observer: metrics,
    onStreamActivity: (nodeId) => propagation.streamActivity(nodeId),
    log: (line) => log(`control-plane: ${line}`),
  });
  xds = xdsServer;
  propagation.setNodeSync((nodeId) => {
    const answers = xdsServer.nodeAnswers(nodeId);
    if (!answers) return undefined;
    return {
      settled: answers.settled,
      ...(answers.refusal ? { nack: { message: answers.refusal.message, at: answers.refusal.at.getTime() } } : {}),
      ...(answers.lastSentAt ? { lastSentAt: answers.lastSentAt.getTime() } : {}),
    };
  });
  const reviewer = new TokenReviewer(kubeConfig);
  let bindAddress = `${opts.xds.host}:${opts.xds.securePort}`;
  try {
    secure = await startSecureServer({
      host: opts.xds.host,
      port: opts.xds.securePort,
      xds: xdsServer,
      ca,
      serving,
      review: (token) => reviewer.review(token),
      trustDomain: () => sources.trustDomain(),
      metrics,
      ...(opts.maxWorkloadCertTtlSeconds ? { maxCertTtlSeconds: opts.maxWorkloadCertTtlSeconds } : {}),
      log: (line) => log(`control-plane: ${line}`),
    });
    if (opts.xds.plaintextPort !== undefined) {
      bindAddress = `${opts.xds.host}:${opts.xds.plaintextPort}`;
      plaintext = await listenGrpc(opts.xds.host, opts.xds.plaintextPort, grpc.ServerCredentials.createInsecure(), (server) => xdsServer.addTo(server));
    }
  } catch (err) {
    push.stop();
    propagation.stop();
    reporter?.stop();
    ingressStatus.stop();
    clearTimeout(graceTimer);
    await secure?.close();
    await debug.close();
    await sources.stop();
    throw new Error(`control-plane ${opts.clusterId}: cannot serve xDS on ${bindAddress}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const [secureListening, plaintextListening] = [secure, plaintext];
  log(
    `control-plane: ${opts.clusterId} (revision ${opts.revision}) serving xDS and the CA over TLS on ${opts.xds.host}:${secureListening.port}` +
      `${plaintextListening ? `, plaintext xDS on ${opts.xds.host}:${plaintextListening.port}` : ''}, debug on ${opts.debug.host}:${debug.port}`,
  );

  let stopping: Promise<void> | undefined;
  return {
    secureXdsPort: secureListening.port,
    ...(plaintextListening ? { plaintextXdsPort: plaintextListening.port } : {}),
    debugPort: debug.port,
    stop() {
      stopping ??= (async () => {
        push.stop();
        propagation.stop();
        reporter?.stop();
        ingressStatus?.stop();
        clearTimeout(graceTimer);
        await plaintextListening?.close();
        await secureListening.close();
        await debug.close();
        await sources.stop();
      })();
      return stopping;
    },
  };
}

type Listening = { port: number; close(): Promise<void> };

export function ownKubeConfig(opts: ControlPlaneOptions): KubeConfig {
  if (opts.kubeconfig || opts.context) {
    return loadKubeConfig({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}) });
  }
  return loadDefault(new KubeConfig());
}

/**
 * The serving certificate's names (contract): istiod-<rev>.<ns>.svc and istiod.<ns>.svc, the address it
 * listens on, and the istiod Service's ClusterIP (what injected proxies dial) when there is one.
 */
async function servingNames(kubeConfig: KubeConfig, opts: ControlPlaneOptions, log: (line: string) => void): Promise<{ dnsNames: string[]; ipAddresses: string[] }> {
  const dnsNames = [`${istiodName(opts.revision)}.${opts.namespace}.svc`, `istiod.${opts.namespace}.svc`];
  const ipAddresses = isIP(opts.xds.host) !== 0 && opts.xds.host !== '0.0.0.0' && opts.xds.host !== '::' ? [opts.xds.host] : [];
  try {
    const clusterIp = await discoveryIp(kubeConfig, opts.revision, opts.namespace);
    if (!ipAddresses.includes(clusterIp)) ipAddresses.push(clusterIp);
  } catch (err) {
    log(`control-plane: ${opts.clusterId}: the serving certificate has no ClusterIP SAN (${(err as Error).message})`);
  }
  // The mesh config's discoveryAddress (`install --discovery-address`) is what proxies dial: named too.
  const discoveryHost = await meshDiscoveryHost(kubeConfig, opts);
  if (discoveryHost !== undefined) {
    if (isIP(discoveryHost) !== 0) {
      if (!ipAddresses.includes(discoveryHost)) ipAddresses.push(discoveryHost);
    } else if (!dnsNames.includes(discoveryHost)) dnsNames.push(discoveryHost);
  }
  return { dnsNames, ipAddresses };
}

/** The host of the mesh config's defaultConfig.discoveryAddress, when the ConfigMap sets one. */
async function meshDiscoveryHost(kubeConfig: KubeConfig, opts: ControlPlaneOptions): Promise<string | undefined> {
  let text: string | undefined;
  try {
    const cm = await kubeConfig.makeApiClient(CoreV1Api).readNamespacedConfigMap({ name: meshConfigMapName(opts.revision), namespace: opts.namespace });
    text = cm.data?.[MESH_CONFIG_KEY];
  } catch {
    // No mesh config (the usual case): proxies dial the Service. One that cannot be read is the watch's to report.
    return undefined;
  }
  const parsed = parseMeshConfig(text ?? '');
  const address = parsed.ok ? parsed.defaultConfig.discoveryAddress : undefined;
  return address ? address.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1') : undefined;
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
