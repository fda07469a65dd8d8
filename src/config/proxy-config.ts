// Istio's ProxyConfig (meshConfig.defaultConfig, overridden per pod by the `proxy.istio.io/config`
// annotation), as far as meshwork reads it: gatewayTopology, which tells a gateway how many trusted
// proxies sit in front of it (xff_num_trusted_hops) and what to do with x-forwarded-client-cert;
// proxyMetadata; and discoveryAddress, where the proxy reaches xDS and the CA (a control plane
// outside the cluster: Istio's `values.global.remotePilotAddress` ends up here too).
// Pure: text in, a checked config (or the reason it is not one) out; no I/O.
//
// As Istio: the annotation is YAML or JSON; an overlay replaces the fields it names and merges nested
// objects field by field (a proto merge); unknown gatewayTopology fields are errors (Istio parses
// strictly). Other ProxyConfig fields are kept and passed on, but meshwork does not act on them: they
// are listed as `notActedOn`, so the analyzer can say so.
import { parse as parseYaml } from 'yaml';

export const PROXY_CONFIG_ANNOTATION = 'proxy.istio.io/config';
/** The proxy container's variable with the pod's ProxyConfig as the injector made it (Istio's name). */
export const PROXY_CONFIG_ENV = 'PROXY_CONFIG';
/** The pod's annotation, by the downward API, for the agent to apply and report (pilot-agent reads a file). */
export const PROXY_CONFIG_ANNOTATION_ENV = 'PROXY_CONFIG_ANNOTATION';

/** Istio's Topology.ForwardClientCertDetails, as Envoy's HCM names the same modes. */
export const FORWARD_CLIENT_CERT_DETAILS = ['SANITIZE', 'FORWARD_ONLY', 'APPEND_FORWARD', 'SANITIZE_SET', 'ALWAYS_FORWARD_ONLY'] as const;
export type ForwardClientCertDetails = (typeof FORWARD_CLIENT_CERT_DETAILS)[number];

export interface GatewayTopology {
  /** Proxies in front of the gateway whose x-forwarded-for entries are believed (Envoy's xff_num_trusted_hops). */
  numTrustedProxies?: number;
  forwardClientCertDetails?: ForwardClientCertDetails;
}

/** A ProxyConfig: gatewayTopology checked, everything else kept as written. */
export interface ProxyConfig {
  gatewayTopology?: GatewayTopology;
  /** Environment variables of the proxy container (Istio's proxyMetadata: e.g. SECRET_TTL, ISTIO_DELTA_XDS). */
  proxyMetadata?: Record<string, string>;
  /** HOST:PORT of the control plane's xDS and CA (Istio's default: istiod-<rev>.istio-system.svc:15012). */
  discoveryAddress?: string;
  [field: string]: unknown;
}

/** The ProxyConfig fields meshwork acts on. */
const ACTED_ON = new Set(['gatewayTopology', 'proxyMetadata', 'discoveryAddress']);

export type ProxyConfigResult =
  | { ok: true; config: ProxyConfig; notActedOn: string[] }
  | { ok: false; error: string };

const UINT32_MAX = 4294967295;
/** The gatewayTopology fields meshwork does not implement (the PROXY protocol needs a listener filter). */
const TOPOLOGY_NOT_ACTED_ON = ['proxyProtocol'];

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The annotation's (or mesh config's) text: YAML or JSON, an object of ProxyConfig fields. */
export function parseProxyConfig(text: string): ProxyConfigResult {
  let value: unknown;
  try {
    value = text.trim() === '' ? {} : parseYaml(text);
  } catch (err) {
    return { ok: false, error: `not YAML or JSON: ${(err as Error).message.split('\n')[0]}` };
  }
  return checkProxyConfig(value ?? {});
}

/** A ProxyConfig already decoded (node metadata PROXY_CONFIG, mesh config defaultConfig). */
export function checkProxyConfig(value: unknown): ProxyConfigResult {
  if (!isObject(value)) return { ok: false, error: `expected an object of ProxyConfig fields, got ${JSON.stringify(value)}` };
  const notActedOn = Object.keys(value).filter((k) => !ACTED_ON.has(k)).sort();
  const metadata = value.proxyMetadata;
  if (metadata !== undefined && metadata !== null) {
    if (!isObject(metadata)) return { ok: false, error: `proxyMetadata: expected an object of environment variables, got ${JSON.stringify(metadata)}` };
    for (const [key, v] of Object.entries(metadata)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return { ok: false, error: `proxyMetadata: "${key}" is not an environment variable name` };
      if (typeof v !== 'string') return { ok: false, error: `proxyMetadata.${key}: expected a string, got ${JSON.stringify(v)}` };
    }
  }
  const discovery = value.discoveryAddress;
  if (discovery !== undefined && discovery !== null) {
    const problem = typeof discovery === 'string' ? hostPortProblem(discovery) : 'expected a string';
    if (problem) return { ok: false, error: `discoveryAddress: ${problem} (give HOST:PORT of the control plane's xDS TLS port, e.g. 10.0.0.5:15012), got ${JSON.stringify(discovery)}` };
  }
  const raw = value.gatewayTopology;
  if (raw === undefined || raw === null) {
    // (A null gatewayTopology is proto JSON for "not set".)
    const { gatewayTopology: _unset, ...rest } = value;
    return { ok: true, config: rest, notActedOn };
  }
  if (!isObject(raw)) return { ok: false, error: `gatewayTopology: expected an object, got ${JSON.stringify(raw)}` };
  const topology: Json = { ...raw };
  for (const [field, v] of Object.entries(raw)) {
    if (field === 'numTrustedProxies') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > UINT32_MAX) {
        return { ok: false, error: `gatewayTopology.numTrustedProxies: expected a whole number from 0 to ${UINT32_MAX}, got ${JSON.stringify(v)}` };
      }
    } else if (field === 'forwardClientCertDetails') {
      const mode = forwardClientCertMode(v);
      if (mode === 'invalid') {
        return { ok: false, error: `gatewayTopology.forwardClientCertDetails: expected one of ${FORWARD_CLIENT_CERT_DETAILS.join(', ')}, got ${JSON.stringify(v)}` };
      }
      if (mode) topology.forwardClientCertDetails = mode;
      else delete topology.forwardClientCertDetails;
    } else if (TOPOLOGY_NOT_ACTED_ON.includes(field)) {
      notActedOn.push(`gatewayTopology.${field}`);
    } else {
      return { ok: false, error: `gatewayTopology.${field}: unknown field (known: numTrustedProxies, forwardClientCertDetails, ${TOPOLOGY_NOT_ACTED_ON.join(', ')})` };
    }
  }
  return { ok: true, config: { ...value, gatewayTopology: topology as GatewayTopology }, notActedOn };
}

/** Why `text` is not HOST:PORT (a DNS name, an IPv4 address or a bracketed IPv6 address, a port 1-65535); undefined when it is. */
export function hostPortProblem(text: string): string | undefined {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d+)$/.exec(text);
  if (!m) return 'expected HOST:PORT';
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return `port ${m[2]} is not 1-65535`;
  return undefined;
}

/** The enum by name or number, as proto JSON accepts it; undefined for UNDEFINED (Istio's "use the default"). */
function forwardClientCertMode(v: unknown): ForwardClientCertDetails | undefined | 'invalid' {
  if (v === 'UNDEFINED' || v === 0) return undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= FORWARD_CLIENT_CERT_DETAILS.length) return FORWARD_CLIENT_CERT_DETAILS[v - 1];
  return FORWARD_CLIENT_CERT_DETAILS.find((m) => m === v) ?? 'invalid';
}

/** `overlay` over `base`, as a proto merge: fields it sets replace, nested objects merge field by field. */
export function mergeProxyConfig(base: ProxyConfig, overlay: ProxyConfig): ProxyConfig {
  const merge = (a: Json, b: Json): Json => {
    const out: Json = { ...a };
    for (const [k, v] of Object.entries(b)) {
      if (v === undefined) continue;
      out[k] = isObject(v) && isObject(a[k]) ? merge(a[k] as Json, v) : v;
    }
    return out;
  };
  return merge(base, overlay) as ProxyConfig;
}

/** Drops undefined fields, so that the config serialises (env, node metadata) exactly as it reads. */
export function proxyConfigJson(config: ProxyConfig): Json {
  return JSON.parse(JSON.stringify(config)) as Json;
}

export interface EffectiveProxyConfig {
  config: ProxyConfig;
  /** Why the pod's annotation was not applied (the pod then runs with the mesh's default). */
  annotationError?: string;
  notActedOn: string[];
}

/**
 * A pod's ProxyConfig: the mesh's defaultConfig with the pod's `proxy.istio.io/config` annotation over
 * it (Istio's injector and pilot-agent both apply it so). An annotation that does not parse is not
 * applied, and the reason is returned for the caller to report.
 */
export function effectiveProxyConfig(meshDefault: ProxyConfig, annotation: string | undefined): EffectiveProxyConfig {
  if (annotation === undefined) return { config: meshDefault, notActedOn: [] };
  const parsed = parseProxyConfig(annotation);
  if (!parsed.ok) return { config: meshDefault, annotationError: `annotation ${PROXY_CONFIG_ANNOTATION} is invalid: ${parsed.error}`, notActedOn: [] };
  return { config: mergeProxyConfig(meshDefault, parsed.config), notActedOn: parsed.notActedOn };
}
