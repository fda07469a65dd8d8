// GET /config_dump in Envoy's shape (envoy.admin.v3.ConfigDump with snake_case fields, as Envoy prints
// it): Listeners, Routes, Clusters and Endpoints dumps with version_info and last_updated per resource,
// the raw resources as accepted. A NACKed update shows as error_state on the dynamic resources.

import type { ConfigStore, Entry } from '../config/store.js';

const ADMIN = 'type.googleapis.com/envoy.admin.v3';

export interface XdsErrors {
  /** Last NACK message per kind, if the last response of that type was rejected. */
  listeners?: string;
  routes?: string;
  clusters?: string;
  endpoints?: string;
}

function errorState(details: string | undefined): Record<string, unknown> {
  return details ? { error_state: { details, last_update_attempt: new Date().toISOString() } } : {};
}

function meta<T>(e: Entry<T>): { version_info: string; last_updated: string } {
  return { version_info: e.version, last_updated: e.lastUpdated.toISOString() };
}

/** `secrets`: the SecretsConfigDump of the agent's local secrets (secrets-dump.ts), last as in Envoy's dump. */
export function configDump(store: ConfigStore, errors: XdsErrors, secrets?: Record<string, unknown>): { configs: Record<string, unknown>[] } {
  const listeners = [...store.get('listeners').entries()].map(([name, e]) => ({
    name,
    active_state: { ...meta(e), listener: e.raw },
    ...errorState(errors.listeners),
  }));
  const routes = [...store.get('routes').values()].map((e) => ({ ...meta(e), route_config: e.raw, ...errorState(errors.routes) }));
  const clusters = [...store.get('clusters').values()].map((e) => ({ ...meta(e), cluster: e.raw, ...errorState(errors.clusters) }));
  const endpoints = [...store.get('endpoints').values()].map((e) => ({ ...meta(e), endpoint_config: e.raw, ...errorState(errors.endpoints) }));
  return {
    configs: [
      { '@type': `${ADMIN}.ListenersConfigDump`, version_info: store.versions.listeners, dynamic_listeners: listeners },
      { '@type': `${ADMIN}.RoutesConfigDump`, dynamic_route_configs: routes },
      { '@type': `${ADMIN}.ClustersConfigDump`, version_info: store.versions.clusters, dynamic_active_clusters: clusters },
      { '@type': `${ADMIN}.EndpointsConfigDump`, dynamic_endpoint_configs: endpoints },
      ...(secrets ? [secrets] : []),
    ],
  };
}
