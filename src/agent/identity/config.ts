// The agent's certificate settings from the injected environment (contract: XDS_ADDRESS / CA_ADDR at
// the control plane's 15012, MESHWORK_ROOT_CERT the mesh root PEM, TRUST_DOMAIN, SERVICE_ACCOUNT,
// SECRET_TTL; the kubelet's MESHWORK_SERVICEACCOUNT_DIR). Without MESHWORK_ROOT_CERT the pod has no
// certificates and speaks plaintext xDS (tests against a plain xDS server).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICEACCOUNT_DIR_ENV } from '../../k8s/serviceaccount.js';
import { DEFAULT_TRUST_DOMAIN, spiffeId } from '../../security/spiffe.js';
import { parseGoDuration } from '../../config/duration.js';

export const ROOT_CERT_ENV = 'MESHWORK_ROOT_CERT';
/** Where Kubernetes mounts the token when MESHWORK_SERVICEACCOUNT_DIR is not set. */
export const KUBERNETES_SERVICEACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
export const DEFAULT_SECRET_TTL_MS = 24 * 3_600_000;

export interface IdentityConfig {
  /** spiffe://<td>/ns/<ns>/sa/<sa> */
  spiffeId: string;
  rootCertPem: string;
  /** host:port of the CA (CA_ADDR, else XDS_ADDRESS). */
  caAddress: string;
  tokenPath: string;
  ttlMs: number;
}

/** The certificate settings, undefined without MESHWORK_ROOT_CERT; throws naming what is wrong. */
export function identityConfigFromEnv(env: NodeJS.ProcessEnv, namespace: string): IdentityConfig | undefined {
  const root = env[ROOT_CERT_ENV];
  if (!root) return undefined;
  // The PEM itself (as injected); a path is accepted too, for running an agent by hand.
  const rootCertPem = root.includes('-----BEGIN') ? root : readRootFile(root);
  const dir = env[SERVICEACCOUNT_DIR_ENV] ?? (existsSync(KUBERNETES_SERVICEACCOUNT_DIR) ? KUBERNETES_SERVICEACCOUNT_DIR : undefined);
  if (!dir) {
    throw new Error(`${ROOT_CERT_ENV} is set but no service-account token is mounted: set ${SERVICEACCOUNT_DIR_ENV} (the local kubelet does) or mount ${KUBERNETES_SERVICEACCOUNT_DIR}`);
  }
  const caAddress = env.CA_ADDR || env.XDS_ADDRESS;
  if (!caAddress) throw new Error(`${ROOT_CERT_ENV} is set but neither CA_ADDR nor XDS_ADDRESS names the CA`);
  return {
    spiffeId: spiffeId({ trustDomain: env.TRUST_DOMAIN || DEFAULT_TRUST_DOMAIN, namespace, serviceAccount: env.SERVICE_ACCOUNT || 'default' }),
    rootCertPem,
    caAddress,
    tokenPath: join(dir, 'token'),
    ttlMs: env.SECRET_TTL ? parseGoDuration(env.SECRET_TTL, 'SECRET_TTL') : DEFAULT_SECRET_TTL_MS,
  };
}

function readRootFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${ROOT_CERT_ENV} is neither a PEM certificate nor a readable file: ${(err as Error).message}`);
  }
}
