// VirtualService corsPolicy -> the CORS filter's per-route config, as Istio (1.20 and later) writes it:
// typed_per_filter_config['envoy.filters.http.cors'] holds an envoy.extensions.filters.http.cors.v3.CorsPolicy,
// and every HTTP connection manager of a sidecar or gateway carries the CORS filter (after the fault
// filter, before the router) so that the per-route config has a filter to act on.

import type { CorsPolicy as IstioCorsPolicy } from '../config/istio-types.js';
import { parseDuration } from '../config/istio-types.js';
import type { CorsPolicy, HttpFilter, StringMatcher } from './envoy-types.js';
import { TYPE_URL } from './envoy-types.js';
import { regexProblem } from './matches.js';

export const CORS_FILTER_NAME = 'envoy.filters.http.cors';
export const CORS_FILTER: HttpFilter = { name: CORS_FILTER_NAME, typed_config: { '@type': TYPE_URL.cors } };

/** `report(field, message)` is called for each field that cannot be translated; the policy is then undefined. */
export function translateCorsPolicy(policy: IstioCorsPolicy, field: string, report: (field: string, message: string) => void): CorsPolicy | undefined {
  let failed = false;
  const fail = (f: string, m: string): void => {
    failed = true;
    report(f, m);
  };
  const origins: StringMatcher[] = [];
  if (policy.allowOrigins !== undefined) {
    policy.allowOrigins.forEach((m, i) => {
      const set = (['exact', 'prefix', 'regex'] as const).filter((k) => typeof m[k] === 'string');
      if (set.length !== 1) return fail(`${field}.allowOrigins[${i}]`, `set exactly one of exact, prefix, regex (found ${set.length === 0 ? 'none' : set.join(', ')}).`);
      const kind = set[0]!;
      const value = m[kind]!;
      if (kind === 'regex') {
        const problem = regexProblem(value);
        if (problem) return fail(`${field}.allowOrigins[${i}].regex`, problem + '.');
        origins.push({ safe_regex: { regex: value } });
      } else origins.push(kind === 'exact' ? { exact: value } : { prefix: value });
    });
  } else {
    // The deprecated allowOrigin: exact origins.
    for (const origin of policy.allowOrigin ?? []) origins.push({ exact: origin });
  }
  const out: CorsPolicy = {
    '@type': TYPE_URL.corsPolicy,
    filter_enabled: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
    // Istio: IGNORE answers an unmatched preflight locally (without CORS headers); anything else
    // forwards it, Envoy's behaviour before 1.30.
    forward_not_matching_preflights: { value: policy.unmatchedPreflights !== 'IGNORE' },
  };
  if (origins.length > 0) out.allow_origin_string_match = origins;
  if (policy.allowMethods && policy.allowMethods.length > 0) out.allow_methods = policy.allowMethods.join(',');
  if (policy.allowHeaders && policy.allowHeaders.length > 0) out.allow_headers = policy.allowHeaders.join(',');
  if (policy.exposeHeaders && policy.exposeHeaders.length > 0) out.expose_headers = policy.exposeHeaders.join(',');
  if (policy.maxAge !== undefined) {
    const parsed = parseDuration(policy.maxAge);
    // Istio writes the whole seconds of the duration.
    if (!parsed.ok) fail(`${field}.maxAge`, parsed.error + '.');
    else out.max_age = String(parsed.duration.seconds);
  }
  if (policy.allowCredentials !== undefined) out.allow_credentials = { value: policy.allowCredentials };
  return failed ? undefined : out;
}
