// The injection webhook's serving certificate. `meshwork install` makes a CA and a certificate for
// `istiod-<revision>.istio-system.svc`, keeps them in the Secret `istiod-webhook-tls` (type
// kubernetes.io/tls, plus ca.crt) and puts the CA in the webhook configuration's caBundle; the
// control plane reads the Secret at start (loadWebhookTls). A re-install reuses the Secret, so the
// caBundle and the served certificate keep matching.
import { isIP } from 'node:net';
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { KubeObject } from '../k8s/object.js';
import { apiErrorCode, apiErrorMessage } from '../k8s/client/client.js';
import { createCertificateAuthority, issueServerCertificate } from '../security/pki/authority.js';
import { istiodName, webhookServerName } from './names.js';

export const WEBHOOK_TLS_SECRET = 'istiod-webhook-tls';

export interface WebhookTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** `extraHosts`: the host of `--webhook-url` (a control plane outside the cluster), a DNS name or an IP. */
export async function createWebhookTls(revision: string, namespace: string, extraHosts: readonly string[] = []): Promise<WebhookTls> {
  const ca = await createCertificateAuthority(`${istiodName(revision)}-webhook-ca`);
  const serverName = webhookServerName(revision, namespace);
  const cert = await issueServerCertificate(ca, {
    commonName: serverName,
    dnsNames: [serverName, `${serverName}.cluster.local`, `${istiodName(revision)}.${namespace}`, ...extraHosts.filter((h) => isIP(h) === 0)],
    ipAddresses: extraHosts.filter((h) => isIP(h) !== 0),
    days: 3650,
  });
  return { caPem: ca.certPem, certPem: cert.certPem, keyPem: cert.keyPem };
}

export function webhookTlsSecret(namespace: string, revision: string, tls: WebhookTls): KubeObject {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: WEBHOOK_TLS_SECRET, namespace, labels: { app: 'istiod', 'istio.io/rev': revision } },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(tls.certPem), 'tls.key': b64(tls.keyPem), 'ca.crt': b64(tls.caPem) },
  };
}

/** The certificate and key out of the Secret; throws naming what is missing. */
export function readWebhookTlsSecret(secret: { metadata?: { name?: string; namespace?: string }; data?: unknown }): WebhookTls {
  const where = `secret ${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? ''}`;
  const data = secret.data !== null && typeof secret.data === 'object' ? (secret.data as Record<string, unknown>) : {};
  const field = (key: string): string => {
    const value = data[key];
    if (typeof value !== 'string' || value === '') throw new Error(`${where} has no data key ${key}`);
    return Buffer.from(value, 'base64').toString('utf8');
  };
  return { caPem: field('ca.crt'), certPem: field('tls.crt'), keyPem: field('tls.key') };
}

/** For the control plane at start: its webhook serving certificate, via the cluster's API. */
export async function loadWebhookTls(kc: KubeConfig, namespace = 'istio-system'): Promise<WebhookTls> {
  const secret = await readSecret(kc, namespace, WEBHOOK_TLS_SECRET);
  if (!secret) throw new Error(`secret ${namespace}/${WEBHOOK_TLS_SECRET} not found: run \`meshwork install\` for this cluster first`);
  return readWebhookTlsSecret(secret);
}

/** The Secret, or undefined when it does not exist. */
export async function readSecret(kc: KubeConfig, namespace: string, name: string): Promise<V1Secret | undefined> {
  try {
    return await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ name, namespace });
  } catch (err) {
    if (apiErrorCode(err) === 404) return undefined;
    throw new Error(`reading secret ${namespace}/${name}: ${apiErrorMessage(err)}`);
  }
}
