// The CORS filter, with Envoy's semantics (source/extensions/filters/http/cors/cors_filter.cc): the
// policies are the route's, then the virtual host's, each field taken from the first that sets it.
// A request with an allowed Origin is a CORS request: a preflight (OPTIONS with
// Access-Control-Request-Method) is answered here with 200 and the Access-Control-Allow-* headers; any
// other response gets Access-Control-Allow-Origin (and -Credentials, -Expose-Headers). An origin not
// allowed gets no CORS header; its preflight is forwarded upstream unless forward_not_matching_preflights
// is false, in which case it is answered here, without CORS headers.

import type { CorsPolicy } from '../model/cors.js';
import { matchString } from '../route/match.js';
import type { HeaderRecord } from './headers.js';

export interface CorsRequest {
  method: string;
  header(name: string): string | undefined;
}

export interface CorsDecision {
  /** Answer locally with 200 and these headers (a preflight); the response headers below still apply. */
  preflight?: HeaderRecord;
  /** Set on the response, whoever answers (an allowed origin). */
  response?: HeaderRecord;
}

/** `policies`: most specific first (route, then virtual host). */
export function decideCors(policies: readonly CorsPolicy[], req: CorsRequest, random: () => number): CorsDecision {
  if (policies.length === 0) return {};
  const first = <K extends keyof CorsPolicy>(key: K): CorsPolicy[K] | undefined => {
    for (const p of policies) {
      const v = p[key];
      if (v !== undefined && !(Array.isArray(v) && v.length === 0)) return v;
    }
    return undefined;
  };
  const enabled = random() < policies[0]!.enabledFraction;
  if (!enabled) return {};
  const origin = req.header('origin');
  if (!origin) return {};
  const allowOrigins = first('allowOrigins') ?? [];
  const allowed = allowOrigins.some((m) => matchString(m, '*') || matchString(m, origin));
  const credentials = first('allowCredentials') === true;
  const response: HeaderRecord | undefined = allowed ? { 'access-control-allow-origin': origin } : undefined;
  if (response && credentials) response['access-control-allow-credentials'] = 'true';
  const expose = first('exposeHeaders');
  if (response && expose) response['access-control-expose-headers'] = expose;

  const requestMethod = req.header('access-control-request-method');
  if (req.method !== 'OPTIONS' || !requestMethod) return { response };
  if (!allowed && (first('forwardNotMatchingPreflights') ?? true)) return {};
  const preflight: HeaderRecord = {};
  if (allowed) preflight['access-control-allow-origin'] = origin;
  if (credentials) preflight['access-control-allow-credentials'] = 'true';
  const methods = first('allowMethods');
  if (methods) preflight['access-control-allow-methods'] = methods === '*' ? requestMethod : methods;
  const headers = first('allowHeaders');
  if (headers) preflight['access-control-allow-headers'] = headers === '*' ? (req.header('access-control-request-headers') ?? '') : headers;
  const maxAge = first('maxAge');
  if (maxAge) preflight['access-control-max-age'] = maxAge;
  if (first('allowPrivateNetworkAccess') === true && req.header('access-control-request-private-network') === 'true') {
    preflight['access-control-allow-private-network'] = 'true';
  }
  return { preflight, response };
}
