// Path and authority rewrites of a forward action, and the Location of a redirect action.

import type { ForwardAction, RedirectAction, RouteMatch } from '../model/route.js';
import { stripPort } from './vhost.js';

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

export function redirectLocation(a: RedirectAction, req: { scheme: string; authority: string; path: string }, match: RouteMatch): string {
  const scheme = a.scheme ?? req.scheme;
  let host = a.host ?? req.authority;
  if (a.port !== undefined) host = `${stripPort(host)}:${a.port}`;
  else if (a.scheme && a.scheme !== req.scheme && a.host === undefined) host = stripPort(host);
  let path = req.path;
  if (a.path !== undefined) path = a.path;
  else if (a.prefixRewrite !== undefined) path = rewritePath(req.path, match, { prefixRewrite: a.prefixRewrite, regexRewrite: undefined });
  if (a.stripQuery) path = path.split('?')[0];
  return `${scheme}://${host}${path}`;
}
