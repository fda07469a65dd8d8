// Envoy's RBAC filter config (envoy.config.rbac.v3.RBAC) as the proxy sees it: decoded, regexes compiled.

import type { CidrRange } from './listener.js';
import type { HeaderMatcher, StringMatcher } from './route.js';

export type RbacAction = 'ALLOW' | 'DENY' | 'LOG';

export type Permission =
  | { kind: 'any' }
  | { kind: 'and'; rules: Permission[] }
  | { kind: 'or'; rules: Permission[] }
  | { kind: 'not'; rule: Permission }
  | { kind: 'header'; matcher: HeaderMatcher }
  | { kind: 'url_path'; matcher: StringMatcher }
  | { kind: 'destination_ip'; cidr: CidrRange }
  | { kind: 'destination_port'; port: number }
  | { kind: 'destination_port_range'; start: number; end: number }
  | { kind: 'requested_server_name'; matcher: StringMatcher }
  /** Dynamic metadata: this proxy writes none, so it matches only inverted. */
  | { kind: 'metadata'; invert: boolean };

export type Principal =
  | { kind: 'any' }
  | { kind: 'and'; ids: Principal[] }
  | { kind: 'or'; ids: Principal[] }
  | { kind: 'not'; id: Principal }
  | { kind: 'header'; matcher: HeaderMatcher }
  | { kind: 'url_path'; matcher: StringMatcher }
  | { kind: 'direct_remote_ip'; cidr: CidrRange }
  | { kind: 'remote_ip'; cidr: CidrRange }
  /** principal_name absent: any authenticated (TLS) peer. */
  | { kind: 'authenticated'; matcher: StringMatcher | undefined }
  | { kind: 'metadata'; invert: boolean };

export interface RbacPolicy {
  name: string;
  permissions: Permission[];
  principals: Principal[];
}

export interface RbacRules {
  action: RbacAction;
  policies: RbacPolicy[];
}

/** One envoy.filters.http.rbac or envoy.filters.network.rbac filter. */
export interface RbacFilter {
  /** Absent: the filter enforces nothing (shadow rules only, or none). */
  rules: RbacRules | undefined;
  /** rules_stat_prefix (HTTP) or stat_prefix (network). */
  statPrefix: string;
}
