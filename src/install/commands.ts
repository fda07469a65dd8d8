// The CLI's install and multi-cluster commands, as functions the command line wires in:
//   meshwork install --context C [--revision R]        (istioctl install / asmcli install)
//   meshwork create-remote-secret --context C [--name N] [--server URL]
//   meshwork create-mesh C1 C2 ...                      (asmcli create-mesh)
// Everything goes through the cluster's API with client-node, so local and real clusters take the same path.
import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import type { KubeObject } from '../k8s/object.js';
import { applyObjects, type ApplyResult } from '../k8s/client/apply.js';
import { apiErrorCode, apiErrorMessage, kubeconfigPath, loadKubeConfig } from '../k8s/client/client.js';
import { MESHWORK_IMAGE } from '../image.js';
import { INTERCEPTION_NODE_LABEL } from '../config/interception.js';
import type { DataPlaneKind } from '../agent/data-plane.js';
import { locateEnvoy } from '../envoy/locate.js';
import { installPlan, parseDiscoveryAddress, parseWebhookUrl } from './plan.js';
import { applyCrds, clusterCreatesCrds, waitForCrdsEstablished } from './real-cluster.js';
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { DEFAULT_REVISION, ISTIO_SYSTEM, istiodName } from './names.js';
import { defaultMeshCaDir, loadCaCerts, meshRootMismatch, planCacerts } from './mesh-ca.js';
import { clusterEndpointFrom, remoteSecretFor, remoteSecretYaml } from './remote-secret.js';
import { READER_SERVICE_ACCOUNT, READER_TOKEN_SECRET } from './rbac.js';
import { SA_NAME_ANNOTATION, SECRET_TYPE_SA_TOKEN } from '../k8s/serviceaccount.js';
import { createWebhookTls, readSecret, readWebhookTlsSecret, WEBHOOK_TLS_SECRET } from './webhook-tls.js';

export interface CommandIo {
  /** One progress line (without newline); stdout by default. */
  out?: (line: string) => void;
}

export interface InstallCommandOptions extends CommandIo {
  kubeconfig?: string;
  /** Also the cluster id (local clusters' contexts are named after them). */
  context: string;
  revision?: string;
  image?: string;
  clusterId?: string;
  /** The mesh's default data plane for injected pods (a pod's annotation can pick the other). */
  dataPlane?: DataPlaneKind;
  /** How long to wait for the control plane to become available; 0 = do not wait. */
  waitTimeoutMs?: number;
  /** The mesh root's folder (root-cert.pem, root-key.pem), created when absent; default `mesh-ca/` beside the kubeconfig. */
  meshCaDir?: string;
  /** The user's Istio plug-in CA files (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem) instead of an intermediate of the mesh root. */
  cacertsDir?: string;
  /** The control plane's plaintext xDS port (loopback only, for tests and debugging); default off. */
  plaintextXdsPort?: number;
  /** `https://HOST:PORT`: the control plane runs outside the cluster and serves the webhooks there (no Deployment). */
  webhookUrl?: string;
  /** HOST:PORT where injected proxies reach xDS and the CA (mesh config defaultConfig.discoveryAddress). */
  discoveryAddress?: string;
  /** Injected for tests; real time otherwise. */
  clock?: { now(): number; sleep(ms: number): Promise<void> };
}

/** Envoy when this machine has one (as every Istio install runs Envoy), else the meshwork proxy, said in one line. */
export function defaultDataPlane(out: (line: string) => void): DataPlaneKind {
  if (locateEnvoy()) return 'envoy';
  out('No Envoy found (--envoy, MESHWORK_ENVOY, .tools/envoy, PATH): pods will run the meshwork proxy');
  return 'meshwork';
}

const realClock = { now: () => Date.now(), sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)) };
const stdout = (line: string): void => void process.stdout.write(`${line}\n`);

function manifestsOf(objects: KubeObject[], source: string) {
  return objects.map((object) => ({ object, source }));
}

function printApplied(out: (line: string) => void, results: ApplyResult[]): void {
  for (const r of results) out(`${r.ref} ${r.outcome}`);
}

export async function runInstall(opts: InstallCommandOptions): Promise<ApplyResult[]> {
  const out = opts.out ?? stdout;
  const revision = opts.revision ?? DEFAULT_REVISION;
  const kc = loadKubeConfig({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), context: opts.context });
  const clusterId = opts.clusterId ?? opts.context;
  // A real cluster gets the CRDs and runs the image, which carries Envoy; a local one has its CRDs and runs this checkout.
  const crds = await clusterCreatesCrds(kc);
  const dataPlane = opts.dataPlane ?? (crds ? 'envoy' : defaultDataPlane(out));
  const webhookUrl = opts.webhookUrl !== undefined ? parseWebhookUrl(opts.webhookUrl) : undefined;
  const discoveryAddress = opts.discoveryAddress !== undefined ? parseDiscoveryAddress(opts.discoveryAddress) : undefined;
  out(`Installing the meshwork control plane (revision ${revision}, data plane ${dataPlane}) into cluster ${clusterId}${webhookUrl ? ` (control plane outside the cluster, webhooks at ${webhookUrl.base})` : ''}`);

  const existing = await readSecret(kc, ISTIO_SYSTEM, WEBHOOK_TLS_SECRET);
  const extraHosts = webhookUrl ? [webhookUrl.host] : [];
  const kept = existing ? readWebhookTlsSecret(existing) : undefined;
  // A kept certificate must still cover the webhook's address (a new --webhook-url host needs a new one).
  const tls = kept && extraHosts.every((h) => certificateCovers(kept.certPem, h)) ? kept : await createWebhookTls(revision, ISTIO_SYSTEM, extraHosts);
  const meshCaDir = opts.meshCaDir ?? defaultMeshCaDir(kubeconfigPath({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}) }));
  const cacerts = await planCacerts(kc, { namespace: ISTIO_SYSTEM, clusterId, meshCaDir, ...(opts.cacertsDir ? { cacertsDir: opts.cacertsDir } : {}), out });
  const plaintextXdsPort = opts.plaintextXdsPort;
  const interceptionMode = await clusterInterceptionMode(kc);
  if (interceptionMode) out(`The cluster's node runs pods with iptables interception: injected pods get istio-init and no http_proxy`);
  const objects = installPlan({
    ...(interceptionMode ? { interceptionMode } : {}),
    revision,
    namespace: ISTIO_SYSTEM,
    image: opts.image ?? MESHWORK_IMAGE,
    clusterId,
    caBundlePem: tls.caPem,
    dataPlane,
    ...(plaintextXdsPort !== undefined ? { plaintextXdsPort } : {}),
    webhookTls: tls,
    ...(cacerts.secret ? { cacertsSecret: cacerts.secret } : {}),
    crds,
    ...(webhookUrl ? { webhookUrl } : {}),
    ...(discoveryAddress ? { discoveryAddress } : {}),
  });
  const crdObjects = objects.filter((o) => o.kind === 'CustomResourceDefinition');
  const results = await applyCrds(kc, crdObjects);
  const clock = opts.clock ?? realClock;
  if (crdObjects.length > 0) await waitForCrdsEstablished(kc, crdObjects.map((o) => o.metadata.name ?? ''), 60_000, clock, out);
  results.push(...(await applyObjects(kc, manifestsOf(objects.filter((o) => o.kind !== 'CustomResourceDefinition'), 'meshwork install'))));
  printApplied(out, results);

  const timeoutMs = opts.waitTimeoutMs ?? 300_000;
  if (webhookUrl) {
    out(`✔ ${istiodName(revision)}'s objects installed in cluster ${clusterId}; run its control plane where ${webhookUrl.base} reaches it: meshwork control-plane --cluster-id ${clusterId} --context ${opts.context}${isIP(webhookUrl.host) !== 0 ? ` --address ${webhookUrl.host}` : ''}`);
    return results;
  }
  if (timeoutMs > 0) await waitForDeployment(kc, ISTIO_SYSTEM, istiodName(revision), timeoutMs, clock, out);
  out(`✔ control plane ${istiodName(revision)} installed in cluster ${clusterId}`);
  return results;
}

/**
 * REDIRECT when the cluster's nodes run pods in network namespaces with iptables interception (a local
 * cluster of `meshwork up --interception iptables` labels its node so), else undefined.
 */
async function clusterInterceptionMode(kc: KubeConfig): Promise<'REDIRECT' | undefined> {
  try {
    const nodes = await kc.makeApiClient(CoreV1Api).listNode();
    return nodes.items.length > 0 && nodes.items.every((n) => n.metadata?.labels?.[INTERCEPTION_NODE_LABEL] === 'iptables') ? 'REDIRECT' : undefined;
  } catch (err) {
    if (apiErrorCode(err) === 403) return undefined; // may not list nodes: not a cluster of ours
    throw err;
  }
}

/** Whether a PEM server certificate names `host` (a DNS name or an IP) in its subject alternative names. */
function certificateCovers(certPem: string, host: string): boolean {
  const cert = new X509Certificate(certPem);
  return isIP(host) !== 0 ? cert.checkIP(host) !== undefined : cert.checkHost(host) !== undefined;
}

function availableSummary(d: V1Deployment): { available: boolean; text: string } {
  const want = d.spec?.replicas ?? 1;
  const ready = d.status?.availableReplicas ?? 0;
  const condition = d.status?.conditions?.find((c) => c.type === 'Available');
  const upToDate = (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
  return { available: condition?.status === 'True' && ready >= want && upToDate, text: `${ready}/${want} available${condition?.message ? ` (${condition.message})` : ''}` };
}

/** Polls the Deployment until its Available condition is True; prints each change of its state. */
export async function waitForDeployment(
  kc: KubeConfig,
  namespace: string,
  name: string,
  timeoutMs: number,
  clock: { now(): number; sleep(ms: number): Promise<void> },
  out: (line: string) => void,
): Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  const deadline = clock.now() + timeoutMs;
  let last = '';
  for (;;) {
    let summary: { available: boolean; text: string };
    try {
      summary = availableSummary(await apps.readNamespacedDeployment({ name, namespace }));
    } catch (err) {
      throw new Error(`reading deployment ${namespace}/${name}: ${apiErrorMessage(err)}`);
    }
    if (summary.text !== last) out(`  deployment ${namespace}/${name}: ${summary.text}`);
    last = summary.text;
    if (summary.available) return;
    if (clock.now() >= deadline) {
      throw new Error(
        `deployment ${namespace}/${name} did not become available within ${Math.round(timeoutMs / 1000)}s (${summary.text}); ` +
          `see \`kubectl -n ${namespace} describe deployment ${name}\` and the logs of its pod`,
      );
    }
    await clock.sleep(500);
  }
}

export interface CreateRemoteSecretOptions {
  kubeconfig?: string;
  context: string;
  /** The cluster name other control planes will know it by; the context name by default. */
  name?: string;
  /** The API server address other clusters use (a private endpoint); the kubeconfig's by default. */
  server?: string;
}

export async function runCreateRemoteSecret(opts: CreateRemoteSecretOptions & { waitTimeoutMs?: number }): Promise<string> {
  const kc = loadKubeConfig({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), context: opts.context });
  return remoteSecretYaml(await remoteSecretOf(kc, opts));
}

async function remoteSecretOf(kc: KubeConfig, opts: { context: string; name?: string; server?: string; waitTimeoutMs?: number }): Promise<KubeObject> {
  const endpoint = clusterEndpointFrom(kc, opts.context);
  const token = await readerToken(kc, opts.context, opts.waitTimeoutMs ?? 30_000);
  return remoteSecretFor({ clusterName: opts.name ?? opts.context, ...endpoint, token, ...(opts.server ? { server: opts.server } : {}) });
}

/**
 * The token of the cluster's istio-reader-service-account, as istioctl gets it: a Secret of type
 * kubernetes.io/service-account-token for that account (created if missing), filled by the cluster's
 * token controller.
 */
async function readerToken(kc: KubeConfig, context: string, timeoutMs: number): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  try {
    await core.readNamespacedServiceAccount({ name: READER_SERVICE_ACCOUNT, namespace: ISTIO_SYSTEM });
  } catch (err) {
    if (apiErrorCode(err) === 404) throw new Error(`cluster ${context} has no service account ${ISTIO_SYSTEM}/${READER_SERVICE_ACCOUNT}: run \`meshwork install --context ${context}\` first`);
    throw new Error(`cluster ${context}: ${apiErrorMessage(err)}`);
  }
  try {
    await core.createNamespacedSecret({
      namespace: ISTIO_SYSTEM,
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        type: SECRET_TYPE_SA_TOKEN,
        metadata: { name: READER_TOKEN_SECRET, namespace: ISTIO_SYSTEM, annotations: { [SA_NAME_ANNOTATION]: READER_SERVICE_ACCOUNT } },
      },
    });
  } catch (err) {
    if (apiErrorCode(err) !== 409) throw new Error(`cluster ${context}: creating secret ${ISTIO_SYSTEM}/${READER_TOKEN_SECRET}: ${apiErrorMessage(err)}`);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const secret = await core.readNamespacedSecret({ name: READER_TOKEN_SECRET, namespace: ISTIO_SYSTEM });
    const token = secret.data?.token;
    if (token) return Buffer.from(token, 'base64').toString('utf8');
    if (Date.now() >= deadline) {
      throw new Error(`cluster ${context}: secret ${ISTIO_SYSTEM}/${READER_TOKEN_SECRET} got no token within ${Math.round(timeoutMs / 1000)}s: does the cluster run a service-account token controller?`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface CreateMeshOptions extends CommandIo {
  kubeconfig?: string;
}

/** Gives every cluster's control plane the remote secret of every other cluster (each ordered pair). */
export async function runCreateMesh(contexts: string[], opts: CreateMeshOptions = {}): Promise<void> {
  const out = opts.out ?? stdout;
  const unique = [...new Set(contexts)];
  if (unique.length < 2) throw new Error(`create-mesh needs at least two distinct clusters, got ${unique.join(', ') || 'none'}`);
  // One root of trust first: remote secrets between clusters whose workloads cannot trust each other would only hide it.
  const roots: Array<{ cluster: string; rootCertPem: string }> = [];
  for (const c of unique) {
    const kc = loadKubeConfig({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), context: c });
    let rootCertPem: string;
    try {
      rootCertPem = (await loadCaCerts(kc, ISTIO_SYSTEM)).rootCertPem;
    } catch (err) {
      throw new Error(`cluster ${c}: ${(err as Error).message}`);
    }
    roots.push({ cluster: c, rootCertPem });
  }
  const mismatch = meshRootMismatch(roots);
  if (mismatch) throw new Error(`create-mesh: ${mismatch}`);
  out(`mesh root: ${unique.join(', ')} share one root CA`);
  const secrets = new Map<string, KubeObject>();
  for (const c of unique) secrets.set(c, await remoteSecretOf(loadKubeConfig({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), context: c }), { context: c }));
  for (const target of unique) {
    const kc = loadKubeConfig({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), context: target });
    try {
      await kc.makeApiClient(CoreV1Api).readNamespace({ name: ISTIO_SYSTEM });
    } catch (err) {
      if (apiErrorCode(err) === 404) throw new Error(`cluster ${target} has no ${ISTIO_SYSTEM} namespace: run \`meshwork install --context ${target}\` first`);
      throw new Error(`cluster ${target}: ${apiErrorMessage(err)}`);
    }
    for (const source of unique) {
      if (source === target) continue;
      const results = await applyObjects(kc, manifestsOf([secrets.get(source)!], `remote secret of ${source}`));
      for (const r of results) out(`${target}: ${r.ref} ${r.outcome} (credentials of ${source})`);
    }
  }
  out(`✔ ${unique.join(', ')} joined into one mesh`);
}
