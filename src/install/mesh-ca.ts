// The mesh's root of trust at install time, as Istio's plug-in CA: `meshwork install` gives every
// cluster Secret istio-system/cacerts with an intermediate signed by the one mesh root; the root's
// key stays in a folder on the installing machine (--mesh-ca DIR, default `mesh-ca/` beside the
// kubeconfig: for local clusters the state folder), created by the first install and reused by the
// next ones, so clusters installed one after the other share the root. A cluster that already has a
// cacerts Secret keeps it (the user's plug-in CA wins, as in Istio); --cacerts DIR takes the user's
// four Istio files instead. create-mesh refuses clusters whose roots differ.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../k8s/object.js';
import {
  CA_CERT_FILE,
  CA_KEY_FILE,
  CACERTS_SECRET,
  cacertsSecret,
  CERT_CHAIN_FILE,
  certificateFingerprint,
  checkCaCerts,
  checkMeshRoot,
  createClusterCaCerts,
  createMeshRoot,
  readCacertsSecret,
  ROOT_CERT_FILE,
  ROOT_KEY_FILE,
  type CaCerts,
} from '../security/pki/cacerts.js';
import type { PemPair } from '../security/pki/x509.js';
import { readSecret } from './webhook-tls.js';

export const MESH_CA_DIR_NAME = 'mesh-ca';

/** `mesh-ca/` beside the kubeconfig in use. */
export function defaultMeshCaDir(kubeconfigFile: string): string {
  return join(dirname(kubeconfigFile), MESH_CA_DIR_NAME);
}

/** The mesh root in `dir` (root-cert.pem, root-key.pem), created there when neither file exists. */
export async function loadOrCreateMeshRoot(dir: string, out: (line: string) => void): Promise<PemPair> {
  const certFile = join(dir, ROOT_CERT_FILE);
  const keyFile = join(dir, ROOT_KEY_FILE);
  const [hasCert, hasKey] = [existsSync(certFile), existsSync(keyFile)];
  if (!hasCert && !hasKey) {
    const root = await createMeshRoot();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(certFile, root.certPem);
    writeFileSync(keyFile, root.keyPem, { mode: 0o600 });
    chmodSync(keyFile, 0o600);
    out(`Created the mesh root CA in ${dir} (SHA-256 ${certificateFingerprint(root.certPem)}): keep ${ROOT_KEY_FILE} safe, and install every cluster of the mesh with --mesh-ca ${dir}`);
    return root;
  }
  if (!hasCert || !hasKey) {
    throw new Error(`mesh CA folder ${dir} has ${hasCert ? ROOT_CERT_FILE : ROOT_KEY_FILE} but no ${hasCert ? ROOT_KEY_FILE : ROOT_CERT_FILE}: put back the missing file, or give another --mesh-ca folder`);
  }
  const root = { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8') };
  checkMeshRoot(root, `mesh CA folder ${dir}`);
  return root;
}

/** Istio's four plug-in CA files from a folder (`--cacerts DIR`), checked. */
export function readCacertsDir(dir: string): CaCerts {
  const read = (file: string): string => {
    const path = join(dir, file);
    if (!existsSync(path)) throw new Error(`--cacerts ${dir}: ${file} not found: the folder needs ${CA_CERT_FILE}, ${CA_KEY_FILE}, ${ROOT_CERT_FILE} and ${CERT_CHAIN_FILE} (Istio's plug-in CA files)`);
    return readFileSync(path, 'utf8');
  };
  const files = { caCertPem: read(CA_CERT_FILE), caKeyPem: read(CA_KEY_FILE), rootCertPem: read(ROOT_CERT_FILE), certChainPem: read(CERT_CHAIN_FILE) };
  checkCaCerts(files, `--cacerts ${dir}`);
  return files;
}

export interface CacertsPlan {
  /** The Secret to apply, or undefined when the cluster's own is kept. */
  secret?: KubeObject;
  files: CaCerts;
}

/**
 * What cacerts the cluster gets: its existing Secret (checked; the user's plug-in CA wins), else the
 * files of --cacerts, else a new intermediate for `clusterId` under the mesh root of `meshCaDir`.
 */
export async function planCacerts(
  kc: KubeConfig,
  opts: { namespace: string; clusterId: string; meshCaDir: string; cacertsDir?: string; out: (line: string) => void },
): Promise<CacertsPlan> {
  const existing = await readSecret(kc, opts.namespace, CACERTS_SECRET);
  if (existing) {
    let files: CaCerts;
    try {
      files = readCacertsSecret(existing);
    } catch (err) {
      throw new Error(`${(err as Error).message}. Fix the Secret, or delete it to let \`meshwork install\` make one`);
    }
    if (opts.cacertsDir) {
      const given = readCacertsDir(opts.cacertsDir);
      if (given.caCertPem.trim() !== files.caCertPem.trim() || given.rootCertPem.trim() !== files.rootCertPem.trim()) {
        throw new Error(`cluster ${opts.clusterId} already has secret ${opts.namespace}/${CACERTS_SECRET} with other certificates than --cacerts ${opts.cacertsDir}: delete the Secret first to replace it (workloads keep their certificates until they rotate)`);
      }
    }
    opts.out(`Keeping secret ${opts.namespace}/${CACERTS_SECRET} (plug-in CA, mesh root SHA-256 ${certificateFingerprint(files.rootCertPem)})`);
    return { files };
  }
  const files = opts.cacertsDir ? readCacertsDir(opts.cacertsDir) : await createClusterCaCerts(await loadOrCreateMeshRoot(opts.meshCaDir, opts.out), opts.clusterId);
  opts.out(`Secret ${opts.namespace}/${CACERTS_SECRET}: ${opts.cacertsDir ? `the CA files of ${opts.cacertsDir}` : `a new intermediate for ${opts.clusterId} signed by the mesh root of ${opts.meshCaDir}`} (root SHA-256 ${certificateFingerprint(files.rootCertPem)})`);
  return { secret: cacertsSecret(opts.namespace, files), files };
}

/** For the control plane and the injector at start: the cluster's CA; absent or invalid is an error that says what to do. */
export async function loadCaCerts(kc: KubeConfig, namespace: string): Promise<CaCerts> {
  const secret = await readSecret(kc, namespace, CACERTS_SECRET);
  if (!secret) {
    throw new Error(
      `secret ${namespace}/${CACERTS_SECRET} not found: the control plane signs workload certificates with it. ` +
        `Run \`meshwork install\` for this cluster (it makes one under the mesh root), or create it from your CA's ${CA_CERT_FILE}, ${CA_KEY_FILE}, ${ROOT_CERT_FILE} and ${CERT_CHAIN_FILE} (Istio's plug-in CA)`,
    );
  }
  return readCacertsSecret(secret);
}

/**
 * Undefined when every cluster has the same mesh root; else why not, naming the clusters, the roots'
 * fingerprints and the fix.
 */
export function meshRootMismatch(roots: Array<{ cluster: string; rootCertPem: string }>): string | undefined {
  const [first, ...rest] = roots;
  if (!first) return undefined;
  const firstFp = certificateFingerprint(first.rootCertPem);
  for (const other of rest) {
    const fp = certificateFingerprint(other.rootCertPem);
    if (fp === firstFp) continue;
    return (
      `clusters ${first.cluster} and ${other.cluster} have different mesh roots in secret istio-system/${CACERTS_SECRET} ` +
      `(${first.cluster}: SHA-256 ${firstFp}; ${other.cluster}: SHA-256 ${fp}): their workloads would not trust each other. ` +
      `Give both clusters intermediates of one root: delete secret istio-system/${CACERTS_SECRET} in ${other.cluster}, re-run ` +
      `\`meshwork install --context ${other.cluster}\` with the --mesh-ca folder ${first.cluster} was installed with (or --cacerts with files under the same root), ` +
      `then restart its control plane and workloads`
    );
  }
  return undefined;
}
