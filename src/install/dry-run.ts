// `meshwork install --dry-run -o yaml|json`: every object a real cluster gets, in apply order, for
// GitOps, without reading or writing any cluster. The webhook's serving certificate is made afresh
// (so its caBundle matches it) and the cluster's cacerts is an intermediate of the mesh root in
// --mesh-ca (created there when absent) or the files of --cacerts: the output holds private keys
// and belongs in a secret store (Sealed Secrets, SOPS), not in plain Git.
//
// Exports: OUTPUT_FORMATS, parseOutputFormat(text), renderInstall(opts).
import { stringify } from 'yaml';
import type { DataPlaneKind } from '../agent/data-plane.js';
import type { KubeObject } from '../k8s/object.js';
import { cacertsSecret, createClusterCaCerts } from '../security/pki/cacerts.js';
import { MESHWORK_IMAGE } from '../image.js';
import { loadOrCreateMeshRoot, readCacertsDir } from './mesh-ca.js';
import { DEFAULT_REVISION, ISTIO_SYSTEM } from './names.js';
import { installPlan, parseDiscoveryAddress, parseWebhookUrl } from './plan.js';
import { createWebhookTls } from './webhook-tls.js';

export const OUTPUT_FORMATS = ['yaml', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseOutputFormat(text: string): OutputFormat {
  const format = OUTPUT_FORMATS.find((f) => f === text);
  if (!format) throw new Error(`-o ${text}: unknown output format: use -o yaml or -o json`);
  return format;
}

export interface RenderInstallOptions {
  clusterId: string;
  revision?: string;
  image?: string;
  /** Default envoy: the image carries Envoy. */
  dataPlane?: DataPlaneKind;
  /** The mesh root's folder (created when absent); ignored with cacertsDir. */
  meshCaDir: string;
  cacertsDir?: string;
  webhookUrl?: string;
  discoveryAddress?: string;
  plaintextXdsPort?: number;
  output: OutputFormat;
  /** Progress lines (stderr in the CLI: stdout is the manifest). */
  log: (line: string) => void;
}

export async function installObjects(opts: Omit<RenderInstallOptions, 'output'>): Promise<KubeObject[]> {
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(opts.clusterId)) {
    throw new Error(`cluster id ${JSON.stringify(opts.clusterId)}: use lower-case letters, digits, '-' and '.' (it names the cluster's intermediate CA and its proxies' locality)`);
  }
  const revision = opts.revision ?? DEFAULT_REVISION;
  const webhookUrl = opts.webhookUrl !== undefined ? parseWebhookUrl(opts.webhookUrl) : undefined;
  const files = opts.cacertsDir ? readCacertsDir(opts.cacertsDir) : await createClusterCaCerts(await loadOrCreateMeshRoot(opts.meshCaDir, opts.log), opts.clusterId);
  const tls = await createWebhookTls(revision, ISTIO_SYSTEM, webhookUrl ? [webhookUrl.host] : []);
  return installPlan({
    revision,
    namespace: ISTIO_SYSTEM,
    image: opts.image ?? MESHWORK_IMAGE,
    clusterId: opts.clusterId,
    caBundlePem: tls.caPem,
    dataPlane: opts.dataPlane ?? 'envoy',
    ...(opts.plaintextXdsPort !== undefined ? { plaintextXdsPort: opts.plaintextXdsPort } : {}),
    webhookTls: tls,
    cacertsSecret: cacertsSecret(ISTIO_SYSTEM, files),
    crds: true,
    ...(webhookUrl ? { webhookUrl } : {}),
    ...(opts.discoveryAddress !== undefined ? { discoveryAddress: parseDiscoveryAddress(opts.discoveryAddress) } : {}),
  });
}

/**
 * The objects as YAML documents, or as one v1 List in JSON (as `kubectl get -o json` prints several).
 * Shared parts (printer columns, labels) are written out each time: no YAML anchors for tools that do not follow them.
 */
export async function renderInstall(opts: RenderInstallOptions): Promise<string> {
  const objects = await installObjects(opts);
  if (opts.output === 'json') return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: objects }, null, 2)}\n`;
  return objects.map((o) => `---\n${stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })}`).join('');
}
