// Bearer-token authentication: the only identity a local cluster knows is its admin token.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { StatusError } from '../../config/status.js';

export function unauthorized(): StatusError {
  return new StatusError(401, 'Unauthorized', 'Unauthorized');
}

/** Returns a checker that compares in constant time (digests first, so lengths do not leak either). */
export function bearerTokenChecker(token: string): (headers: IncomingHttpHeaders) => boolean {
  if (!token) throw new Error('the API server needs a non-empty bearer token');
  const expected = createHash('sha256').update(token).digest();
  return (headers) => {
    const header = headers.authorization;
    if (typeof header !== 'string') return false;
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (!match) return false;
    const given = createHash('sha256').update(match[1]).digest();
    return timingSafeEqual(given, expected);
  };
}
