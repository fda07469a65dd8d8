// Istio's naming conventions: FQDNs, cluster names, the Host-header names a client may use, and
// host pattern matching. Every other translate module names things through here.

import type { MeshService, MeshServicePort } from '../registry/model.js';

export function serviceFqdn(name: string, namespace: string, domainSuffix: string): string {
  return `${name}.${namespace}.svc.${domainSuffix}`;
}

/**
 * Istio's short-name rule: a host without a dot is a Service name in the config object's namespace
 * (`helloworld` in `sample` -> helloworld.sample.svc.cluster.local). A host with a dot is taken as
 * written, so `helloworld.sample` is NOT expanded (clients may call it so, config may not name it so).
 */
export function resolveHost(host: string, namespace: string, domainSuffix: string): string {
  const lower = host.toLowerCase();
  if (lower === '*' || lower.includes('.')) return lower;
  return serviceFqdn(lower, namespace, domainSuffix);
}

/** `*` matches everything; `*.example.com` matches any name ending in `.example.com`. */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  // `*.example.com` also covers a narrower wildcard such as `*.api.example.com`.
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return pattern === host;
}

/** The more specific of two intersecting host patterns, or undefined when they do not intersect. */
export function hostIntersection(a: string, b: string): string | undefined {
  if (hostMatches(a, b)) return b;
  if (hostMatches(b, a)) return a;
  return undefined;
}

export function outboundClusterName(port: number, subset: string | undefined, hostname: string): string {
  return `outbound|${port}|${subset ?? ''}|${hostname}`;
}

export function inboundClusterName(port: number): string {
  return `inbound|${port}||`;
}

export function parseOutboundClusterName(name: string): { port: number; subset: string; hostname: string } | undefined {
  const parts = name.split('|');
  if (parts.length !== 4 || parts[0] !== 'outbound') return undefined;
  return { port: Number(parts[1]), subset: parts[2], hostname: parts[3] };
}

/** The key a MeshEndpoint uses for a service port in its `ports` map. */
export function endpointPortKey(port: MeshServicePort): string {
  return port.name ?? String(port.port);
}

export type PortProtocol = 'http' | 'http2' | 'grpc' | 'tcp' | 'tls' | 'udp';

const PROTOCOL_PREFIXES: Record<string, PortProtocol> = {
  http: 'http',
  http2: 'http2',
  h2c: 'http2',
  grpc: 'grpc',
  'grpc-web': 'http',
  tcp: 'tcp',
  tls: 'tls',
  https: 'tls',
  mongo: 'tcp',
  mysql: 'tcp',
  redis: 'tcp',
  udp: 'udp',
};

/**
 * Istio's protocol selection: appProtocol, else the port name's prefix before '-' ("http-web"),
 * else unknown. Istio sniffs unknown ports; this mesh's proxy is an HTTP router, so unknown is HTTP.
 */
export function portProtocol(port: MeshServicePort): PortProtocol {
  if (port.protocol.toUpperCase() === 'UDP') return 'udp';
  const declared = port.appProtocol ?? port.name;
  if (declared) {
    const lower = declared.toLowerCase();
    const exact = PROTOCOL_PREFIXES[lower];
    if (exact) return exact;
    const prefix = PROTOCOL_PREFIXES[lower.split('-')[0]];
    if (prefix) return prefix;
  }
  return 'http';
}

export function isHttpProtocol(protocol: PortProtocol): boolean {
  return protocol === 'http' || protocol === 'http2' || protocol === 'grpc';
}

/**
 * The Host header values a client in `clientNamespace` may send for a service port through the
 * outbound HTTP proxy: FQDN, `<name>.<ns>.svc`, `<name>.<ns>`, and the bare name from the same
 * namespace; each with `:port`, and also without it when the port is 80 (HTTP's default, which
 * clients leave out of the Host header).
 */
export function serviceDomains(service: MeshService, port: number, clientNamespace: string): string[] {
  const names = [service.hostname];
  const kubernetesSuffix = `.${service.namespace}.svc.`;
  if (service.hostname.startsWith(`${service.name}${kubernetesSuffix}`)) {
    names.push(`${service.name}.${service.namespace}.svc`, `${service.name}.${service.namespace}`);
    if (clientNamespace === service.namespace) names.push(service.name);
  }
  const domains: string[] = [];
  for (const name of names) {
    domains.push(`${name}:${port}`);
    if (port === 80) domains.push(name);
  }
  return domains;
}

/** Node-style selector match: every selector label present with the same value. */
export function labelsMatch(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/**
 * Istio's exportTo: absent or '*' = everywhere, '.' = the object's own namespace, '~' = nowhere,
 * otherwise a list of namespaces.
 */
export function visibleTo(exportTo: readonly string[] | undefined, ownNamespace: string, viewerNamespace: string): boolean {
  if (!exportTo || exportTo.length === 0) return true;
  return exportTo.some((e) => e === '*' || (e === '.' && ownNamespace === viewerNamespace) || e === viewerNamespace);
}
