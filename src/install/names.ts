// Names and ports of an installed control plane revision, shared by the manifests, the webhook
// certificate and the control plane's own start-up.

export const ISTIO_SYSTEM = 'istio-system';
export const DEFAULT_REVISION = 'asm-managed-stable';

/** A remote secret's label and annotation (`istioctl create-remote-secret`): written by create-mesh, watched by the control plane. */
export const MULTICLUSTER_LABEL = 'istio/multiCluster';
export const CLUSTER_ANNOTATION = 'networking.istio.io/cluster';

/** Plaintext xDS: off unless the control plane is told to serve it (tests, debugging; loopback only). */
export const XDS_PORT = 15010;
/** xDS and the CA over TLS, callers authenticated by their service-account token (Istio's 15012). */
export const XDS_SECURE_PORT = 15012;

export const MONITORING_PORT = 15014;
export const WEBHOOK_PORT = 15017;
/** The Service port the API server calls the webhook on (targetPort 15017), as Istio's istiod Service. */
export const WEBHOOK_SERVICE_PORT = 443;

/** `istiod-asm-managed-stable`: the Deployment, Service and ServiceAccount of a revision. */
export function istiodName(revision: string): string {
  return `istiod-${revision}`;
}

/** The mesh config ConfigMap of a revision (`istio-<rev>`, Istio's) and its key holding the MeshConfig YAML. */
export function meshConfigMapName(revision: string): string {
  return `istio-${revision}`;
}
export const MESH_CONFIG_KEY = 'mesh';

export function injectorConfigName(revision: string): string {
  return `istio-sidecar-injector-${revision}`;
}

/** `istio-validator-asm-managed-stable-istio-system`: istiod's ValidatingWebhookConfiguration. */
export function validatorConfigName(revision: string, namespace: string): string {
  return `istio-validator-${revision}-${namespace}`;
}

/** The DNS name the API server verifies the webhook's certificate against. */
export function webhookServerName(revision: string, namespace: string): string {
  return `${istiodName(revision)}.${namespace}.svc`;
}
