// Istio's naming rules as a sidecar applies them, written from Istio's documentation and pilot's
// sources (not from src/translate): short names, host patterns, exportTo, the Host header names of a
// Kubernetes service, and HTTP ports.

import type { MeshServicePort } from '../../registry/model.js';

/**
 * Istio's ResolveShortnameToFQDN: a name without a dot is a service in the config's namespace
 * (`helloworld` in `sample` -> helloworld.sample.svc.cluster.local); `*`, IPs and dotted names stay.
 */
export function qualifyHost(host: string, namespace: string, domainSuffix: string): string {
  const lower = host.trim().toLowerCase();
  if (lower === '' || lower === '*' || lower.includes('.') || lower.includes(':')) return lower;
  return `${lower}.${namespace}.svc.${domainSuffix}`;
}

/** Istio's host.Name.Matches for a concrete host: `*` matches all, `*.example.com` every name under it. */
export function hostPatternMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return pattern === host;
}

/** A pattern's specificity for Istio's MostSpecificHostMatch: exact beats any wildcard, longer wildcards beat shorter. */
export function hostSpecificity(pattern: string, host: string): number {
  return pattern === host ? Number.MAX_SAFE_INTEGER : pattern.length;
}

/** exportTo for a viewer in another namespace or its own: absent or `*` everywhere, `.` own namespace, `~` nowhere. */
export function exportedTo(exportTo: readonly string[] | undefined, ownNamespace: string, viewerNamespace: string): boolean {
  if (!exportTo || exportTo.length === 0) return true;
  return exportTo.some((e) => e === '*' || (e === '.' && ownNamespace === viewerNamespace) || e === viewerNamespace);
}

/**
 * The Host header names a sidecar answers for a Kubernetes service (pilot's
 * generateAltVirtualHostsForKubernetesService): the FQDN, `name.ns.svc`, `name.ns`, and from the same
 * namespace the bare name.
 */
export function kubernetesHostNames(name: string, namespace: string, hostname: string, clientNamespace: string): string[] {
  const names = [hostname];
  if (hostname.startsWith(`${name}.${namespace}.svc.`)) {
    names.push(`${name}.${namespace}.svc`, `${name}.${namespace}`);
    if (clientNamespace === namespace) names.push(name);
  }
  return names;
}

/** `helloworld.sample:5000` -> host and port (80 when absent, as HTTP clients leave it out). */
export function splitHostHeader(host: string): { hostname: string; port: number } {
  const lower = host.trim().toLowerCase();
  const m = /^(.*?)(?::(\d+))?$/.exec(lower.startsWith('[') ? lower.replace(/^\[(.*)\]/, '$1') : lower);
  const hostname = m?.[1] ?? lower;
  return { hostname, port: m?.[2] ? Number(m[2]) : 80 };
}

const HTTP_PREFIXES = new Set(['http', 'http2', 'h2c', 'grpc', 'grpc-web']);
const NON_HTTP_PREFIXES = new Set(['tcp', 'tls', 'https', 'mongo', 'mysql', 'redis', 'udp', 'thrift', 'dubbo', 'zookeeper']);

/**
 * Whether a sidecar routes this port as HTTP: Istio's protocol selection (appProtocol, else the port
 * name's prefix before `-`); an undeclared protocol is sniffed, and HTTP requests are routed.
 */
export function isHttpPort(port: MeshServicePort): boolean {
  if (port.protocol.toUpperCase() === 'UDP') return false;
  const declared = (port.appProtocol ?? port.name ?? '').toLowerCase();
  if (declared === '') return true;
  if (HTTP_PREFIXES.has(declared)) return true;
  const prefix = declared.split('-')[0];
  if (HTTP_PREFIXES.has(prefix)) return true;
  return !NON_HTTP_PREFIXES.has(prefix) && !NON_HTTP_PREFIXES.has(declared);
}

/** Label selector as Istio's subsets and sourceLabels use it: every selector label present with that value. */
export function selects(selector: Readonly<Record<string, string>> | undefined, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}
