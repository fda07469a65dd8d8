// The names certificates travel under, shared by the agent (which serves them), translation (which
// refers to them) and both data planes (which resolve them). As Istio: a workload's own certificate is
// SDS secret `default`, the mesh's root `ROOTCA`, both served by the pod's agent on the `sds-grpc`
// cluster (a Unix socket in Envoy's bootstrap); a gateway's credentialName is `kubernetes://<name>`
// (its CA for MUTUAL `kubernetes://<name>-cacert`), served by the control plane over ADS.

export const WORKLOAD_SECRET = 'default';
export const ROOT_CA_SECRET = 'ROOTCA';
/** The bootstrap cluster that reaches the agent's SDS server. */
export const SDS_CLUSTER = 'sds-grpc';
export const CREDENTIAL_NAME_PREFIX = 'kubernetes://';
export const CA_CERT_SUFFIX = '-cacert';

/** A secret as a data plane holds it: PEM text, the parts the secret has. */
export interface TlsSecret {
  /** A certificate chain, leaf first, and its key (a tls_certificate). */
  certificateChainPem?: string;
  privateKeyPem?: string;
  /** Trusted CA certificates (a validation_context). */
  trustedCaPem?: string;
}

/**
 * Secrets a data plane gets from beside it rather than over xDS: the agent hands the meshwork proxy
 * (in its own process) the workload certificate and root this way, where Envoy reads them from the
 * agent's SDS socket. The names are WORKLOAD_SECRET and ROOT_CA_SECRET.
 */
export interface LocalSecretSource {
  current(name: string): TlsSecret | undefined;
  /** Called with a secret's name whenever it changes (a rotation); returns the unsubscribe. */
  onChange(listener: (name: string) => void): () => void;
}
