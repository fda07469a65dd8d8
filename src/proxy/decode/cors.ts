// envoy.extensions.filters.http.cors.v3.CorsPolicy (a route's or virtual host's typed_per_filter_config
// for envoy.filters.http.cors) -> CorsPolicy.

import type { CorsPolicy } from '../model/cors.js';
import { fractionalPercent, isObj, join, obj, objs, str, wrappedBool, type Obj, type Problems } from './fields.js';
import { decodeStringMatcher } from './headers.js';

export const CORS_FILTER_NAME = 'envoy.filters.http.cors';
export const CORS_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors';
const CORS_POLICY_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy';
const FILTER_CONFIG_TYPE_URL = 'type.googleapis.com/envoy.config.route.v3.FilterConfig';

const KNOWN = new Set(['@type', 'allow_origin_string_match', 'allow_methods', 'allow_headers', 'expose_headers', 'max_age', 'allow_credentials',
  'allow_private_network_access', 'forward_not_matching_preflights', 'filter_enabled', 'shadow_enabled']);

function runtimeFraction(o: Obj, key: string, path: string, p: Problems): number | undefined {
  const f = obj(o, key, path, p);
  if (!f) return undefined;
  if (f['runtime_key']) p.add(join(join(path, key), 'runtime_key'), 'runtime overrides are not supported (default_value is)');
  return fractionalPercent(f, 'default_value', join(path, key), p) ?? 0;
}

export function decodeCorsPolicy(o: Obj, path: string, p: Problems): CorsPolicy {
  for (const key of Object.keys(o)) if (!KNOWN.has(key)) p.add(join(path, key), 'is not supported by the CORS filter');
  return {
    allowOrigins: objs(o, 'allow_origin_string_match', path, p).flatMap(({ value, path: mPath }) => decodeStringMatcher(value, mPath, p) ?? []),
    allowMethods: str(o, 'allow_methods', path, p) || undefined,
    allowHeaders: str(o, 'allow_headers', path, p) || undefined,
    exposeHeaders: str(o, 'expose_headers', path, p) || undefined,
    maxAge: str(o, 'max_age', path, p) || undefined,
    allowCredentials: wrappedBool(o, 'allow_credentials', path, p),
    allowPrivateNetworkAccess: wrappedBool(o, 'allow_private_network_access', path, p),
    forwardNotMatchingPreflights: wrappedBool(o, 'forward_not_matching_preflights', path, p),
    enabledFraction: runtimeFraction(o, 'filter_enabled', path, p) ?? 1,
    shadowFraction: runtimeFraction(o, 'shadow_enabled', path, p) ?? 0,
  };
}

/** typed_per_filter_config['envoy.filters.http.cors'] of a route or virtual host (a CorsPolicy, or a FilterConfig wrapping one). */
export function decodePerFilterCors(o: Obj, path: string, p: Problems): CorsPolicy | undefined {
  if (o['cors'] !== undefined) p.add(join(path, 'cors'), 'the legacy cors field is not supported; use typed_per_filter_config["envoy.filters.http.cors"]');
  const tpfc = obj(o, 'typed_per_filter_config', path, p);
  const cfg = tpfc?.[CORS_FILTER_NAME];
  if (cfg === undefined) return undefined;
  const cPath = join(join(path, 'typed_per_filter_config'), CORS_FILTER_NAME);
  if (!isObj(cfg)) {
    p.add(cPath, 'expected a CorsPolicy message');
    return undefined;
  }
  const inner = cfg['@type'] === FILTER_CONFIG_TYPE_URL && isObj(cfg['config']) ? cfg['config'] : cfg;
  if (inner['@type'] !== undefined && inner['@type'] !== CORS_POLICY_TYPE_URL) {
    p.add(cPath, `expected ${CORS_POLICY_TYPE_URL}, got ${String(inner['@type'])}`);
    return undefined;
  }
  return decodeCorsPolicy(inner, cPath, p);
}
