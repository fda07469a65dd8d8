// A CORS policy as the proxy's CORS filter applies it (envoy.extensions.filters.http.cors.v3.CorsPolicy,
// from a route's or virtual host's typed_per_filter_config). Unset fields stay undefined: the filter
// takes each field from the most specific policy that sets it, as Envoy does.

import type { StringMatcher } from './route.js';

export interface CorsPolicy {
  allowOrigins: StringMatcher[];
  allowMethods: string | undefined;
  allowHeaders: string | undefined;
  exposeHeaders: string | undefined;
  maxAge: string | undefined;
  allowCredentials: boolean | undefined;
  allowPrivateNetworkAccess: boolean | undefined;
  forwardNotMatchingPreflights: boolean | undefined;
  /** filter_enabled as a fraction of requests (1 when absent). */
  enabledFraction: number;
  /** shadow_enabled: origins are checked for stats only; no header changes. */
  shadowFraction: number;
}
