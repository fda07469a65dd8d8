// Path and authority rewrites of a forward action, and the Location of a redirect action.

import type { ForwardAction, RedirectAction, RouteMatch } from '../model/route.js';
import { portOf, stripPort } from './vhost.js';

/** prefix_rewrite replaces the matched prefix; regex_rewrite substitutes in the path (query untouched). */
export function rewritePath(path: string, match: RouteMatch, action: Pick<ForwardAction, 'prefixRewrite' | 'regexRewrite'>): string {
  const q = path.indexOf('?');
  const pathOnly = q < 0 ? path : path.slice(0, q);
  const query = q < 0 ? '' : path.slice(q);
  if (action.prefixRewrite !== undefined && (match.path.kind === 'prefix' || match.path.kind === 'separated-prefix' || match.path.kind === 'path')) {
    const matched = match.path.value.length;
    return `${action.prefixRewrite}${pathOnly.slice(matched)}${query}` || '/';
  }
  if (action.regexRewrite) {
    action.regexRewrite.regex.lastIndex = 0;
    return `${pathOnly.replace(action.regexRewrite.regex, action.regexRewrite.substitution)}${query}`;
  }
  return path;
}

/**
 * Envoy's Http::Utility::newUri: the authority as received (case kept) unless host_redirect replaces
 * it; port_redirect replaces the port; a scheme change drops the port only when it is the default one
 * of the request's scheme (http://h:80 -> https://h, but https://h:443 stays as it is). path_redirect
 * keeps the request's query unless it has its own or strip_query is set.
 */
export function redirectLocation(a: RedirectAction, req: { scheme: string; authority: string; path: string }, match: RouteMatch): string {
  const scheme = a.scheme ?? req.scheme;
  let host = a.host ?? req.authority;
  if (a.port !== undefined) host = `${stripPort(host)}:${a.port}`;
  else if (scheme !== req.scheme && a.host === undefined && portOf(host) === (req.scheme === 'https' ? 443 : 80)) host = stripPort(host);
  let path = req.path;
  const q = req.path.indexOf('?');
  if (a.path !== undefined) path = a.path.includes('?') || q < 0 ? a.path : a.path + req.path.slice(q);
  else if (a.prefixRewrite !== undefined) path = rewritePath(req.path, match, { prefixRewrite: a.prefixRewrite, regexRewrite: undefined });
  if (a.stripQuery) path = path.split('?')[0];
  return `${scheme}://${host}${path}`;
}
