// RouteAction.hash_policy -> HashPolicy[]: header, cookie (name, path, ttl, attributes), connection
// source IP, query parameter, each optionally terminal. Hash sources this proxy does not implement
// (filter_state, a header's regex_rewrite) are refused by name, so the route is NACKed, not mis-hashed.

import type { HashPolicy } from '../model/route.js';
import { bool, durationMs, join, obj, objs, Problems, requiredStr, str, type Obj } from './fields.js';

export function decodeHashPolicies(ra: Obj, path: string, p: Problems): HashPolicy[] {
  const out: HashPolicy[] = [];
  for (const { value, path: hPath } of objs(ra, 'hash_policy', path, p)) {
    const terminal = bool(value, 'terminal', hPath, p) ?? false;
    const header = obj(value, 'header', hPath, p);
    const cookie = obj(value, 'cookie', hPath, p);
    const conn = obj(value, 'connection_properties', hPath, p);
    const query = obj(value, 'query_parameter', hPath, p);
    if (header) {
      const name = requiredStr(header, 'header_name', join(hPath, 'header'), p);
      if (header['regex_rewrite'] !== undefined && header['regex_rewrite'] !== null) p.add(join(hPath, 'header.regex_rewrite'), 'is not implemented');
      if (name) out.push({ kind: 'header', name: name.toLowerCase(), terminal });
    } else if (cookie) {
      const cPath = join(hPath, 'cookie');
      const name = requiredStr(cookie, 'name', cPath, p);
      const ttlMs = durationMs(cookie, 'ttl', cPath, p);
      const attributes = objs(cookie, 'attributes', cPath, p).map(({ value: a, path: aPath }) => ({ name: requiredStr(a, 'name', aPath, p) ?? '', value: str(a, 'value', aPath, p) ?? '' }));
      if (name) out.push({ kind: 'cookie', name, path: str(cookie, 'path', cPath, p) ?? '', ttlSeconds: ttlMs === undefined ? undefined : Math.floor(ttlMs / 1000), attributes, terminal });
    } else if (conn) {
      if (bool(conn, 'source_ip', join(hPath, 'connection_properties'), p)) out.push({ kind: 'source-ip', terminal });
    } else if (query) {
      const name = requiredStr(query, 'name', join(hPath, 'query_parameter'), p);
      if (name) out.push({ kind: 'query', name, terminal });
    } else {
      p.add(hPath, 'only header, cookie, connection_properties and query_parameter hash policies are implemented');
    }
  }
  return out;
}
