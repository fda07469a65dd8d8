// Assembling RouteConfigurations: the version stamp of proxyless clients, and the guard against duplicate domains
// (Envoy rejects a RouteConfiguration in which two virtual hosts share a domain).

import { TYPE_URL, type Metadata, type RouteConfiguration, type VirtualHost } from './envoy-types.js';
import { problemAt, type ConfigRef, type ProblemLog } from '../config/problems.js';

/** A virtual host and the config object that produced it (for problems about it). */
export interface SourcedVirtualHost {
  vhost: VirtualHost;
  source?: ConfigRef;
}

/**
 * The snapshot version stamp, carried in proxyless clients' RouteConfigurations: @grpc/grpc-js-xds 1.14
 * was seen to skip a RouteConfiguration whose content is unchanged even when the clusters behind it
 * changed (src/xds/grpc-js-xds.test.ts could not reproduce it; the stamp stays as insurance). Sidecars
 * and gateways get no stamp: it would turn every endpoint change into an RDS push to every proxy.
 * It is written twice on purpose: as a
 * Struct (readable in config dumps) and as a typed google.protobuf.StringValue, whose only field
 * (`value`) packs the same whatever field-name casing a protobuf library gives Struct's Value.
 */
export function versionMetadata(version: string): Metadata {
  return {
    filter_metadata: { meshwork: { fields: { version: { string_value: version } } } },
    typed_filter_metadata: { meshwork: { '@type': TYPE_URL.stringValue, value: version } },
  };
}

/** `version`: stamp it (proxyless clients) or not (undefined). */
export function assembleRouteConfig(name: string, vhosts: SourcedVirtualHost[], version: string | undefined, problems: ProblemLog): RouteConfiguration {
  const seen = new Map<string, { vhost: string; source?: ConfigRef }>();
  const kept: VirtualHost[] = [];
  for (const { vhost, source } of vhosts) {
    const domains: string[] = [];
    for (const domain of vhost.domains) {
      const owner = seen.get(domain);
      if (owner === undefined) {
        seen.set(domain, { vhost: vhost.name, source });
        domains.push(domain);
        continue;
      }
      if (owner.vhost === vhost.name) continue;
      // Blame the later object; when it is a plain Service (no config object), the earlier one.
      const blamed = source ?? owner.source;
      const message = `domain "${domain}" in route configuration ${name} is already served by virtual host ${owner.vhost}; ` +
        `it is dropped from ${vhost.name}. Give each host name to one service (Service, ServiceEntry or VirtualService) only.`;
      if (blamed) problems.add(problemAt(blamed, 'warning', 'duplicate-domain', 'spec.hosts', message));
      else throw new Error(`internal: two Kubernetes services share domain ${domain}: ${message}`);
    }
    if (domains.length > 0) kept.push({ ...vhost, domains });
  }
  const config: RouteConfiguration = { name, virtual_hosts: kept, validate_clusters: { value: false } };
  if (version !== undefined) config.metadata = versionMetadata(version);
  return config;
}
