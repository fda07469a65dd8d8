// Dispatches an authenticated request to the handler of what its path addresses.
import { answerReview, isReviewType } from './reviews.js';
import type { Authenticate } from './auth.js';
import type { BoundObjectLookup } from '../serviceaccount/tokens.js';
import type { UserInfo } from '../../k8s/rbac/user.js';
import { createToken } from './token-request.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiVersionOf, type Verb } from '../../k8s/kinds.js';
import { badRequest } from '../../k8s/status.js';
import { createObject } from './create.js';
import { deleteCollection, deleteObject } from './delete.js';
import {
  aggregatedContentType,
  aggregatedDiscovery,
  apiGroupDocument,
  apiGroupList,
  apiResourceList,
  apiVersions,
  wantsAggregatedDiscovery,
} from './discovery.js';
import { acceptsJson, decodeObjectBody, isPlainObject, methodNotAllowed, notFoundPath, parseAccept, readBody, sendJson } from './http.js';
import type { AcceptEntry } from './http.js';
import { serveLogs } from './logs.js';
import type { OpenApiDocuments } from './openapi.js';
import type { ApiContext } from './options.js';
import { checkAcceptable, getObject, listObjects, notAcceptable, prefersProtobuf } from './reads.js';
import { PROTOBUF_MEDIA_TYPE, encodeKubernetesProtobuf } from './protobuf.js';
import type { Reply } from './reply.js';
import type { ResourceRoute } from './routes.js';
import { parseRoute } from './routes.js';
import { getScale, patchScale, replaceScale } from './scale.js';
import { patchObject, replaceObject } from './update.js';
import { applyObject } from './apply.js';
import { isApplyPatch } from './patching.js';
import type { ActiveWatches, WatchSettings } from './watch.js';
import { isWatchRequest, serveWatch } from './watch.js';

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2024-12-11T00:00:00Z',
  goVersion: 'go1.23.3',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export interface RouterDeps {
  ctx: ApiContext;
  openapi: OpenApiDocuments;
  watches: ActiveWatches;
  watchSettings: WatchSettings;
  serverAddress: () => string;
  authenticate: Authenticate;
  lookup: BoundObjectLookup;
}

function reply(res: ServerResponse, r: Reply): void {
  sendJson(res, r.code, r.body, r.headers);
}

/** A read's answer in the format the client prefers: protobuf for the kinds that have it, else JSON if taken. */
function replyNegotiated(res: ServerResponse, r: Reply, accept: AcceptEntry[]): void {
  if (prefersProtobuf(accept) && isPlainObject(r.body)) {
    const encoded = encodeKubernetesProtobuf(r.body);
    if (encoded) {
      res.writeHead(r.code, { ...r.headers, 'Content-Type': PROTOBUF_MEDIA_TYPE, 'Content-Length': String(encoded.length), 'Cache-Control': 'no-cache, private' });
      res.end(encoded);
      return;
    }
    if (!acceptsJson(accept)) throw notAcceptable(` (${String(r.body.kind)} has no protobuf encoding; ask for application/json)`);
  }
  reply(res, r);
}

function requireVerb(route: ResourceRoute, verb: Verb, method: string): void {
  if (!route.type.verbs.includes(verb)) throw methodNotAllowed(method);
}

function discovery(deps: RouterDeps, res: ServerResponse, accept: AcceptEntry[], core: boolean, legacy: () => object): void {
  const aggregated = wantsAggregatedDiscovery(accept);
  if (aggregated) {
    sendJson(res, 200, aggregatedDiscovery(core, aggregated), { 'Content-Type': aggregatedContentType(aggregated), Vary: 'Accept' });
    return;
  }
  sendJson(res, 200, legacy(), { Vary: 'Accept' });
}

function serveOpenApi(deps: RouterDeps, res: ServerResponse, path: string): boolean {
  if (path === '/openapi/v3' || path === '/openapi/v3/') {
    sendJson(res, 200, deps.openapi.index);
    return true;
  }
  if (path.startsWith('/openapi/v3/')) {
    const doc = deps.openapi.document(path.slice('/openapi/v3/'.length));
    if (!doc) return false;
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(doc.body)),
      'Cache-Control': 'public, immutable',
      Etag: `"${doc.hash}"`,
    });
    res.end(doc.body);
    return true;
  }
  return false;
}

/**
 * OpenAPI v2 with no definitions. kubectl reads v3 first (where our kinds are described); it falls
 * back to v2 for kinds v3 does not describe, and with v2 missing it stops with "failed to download
 * openapi" instead of its own "no matches for kind" message. An empty v2 document tells it there is no
 * v2 schema to check against. In protobuf (what kubectl asks for) an empty Document is zero bytes.
 */
function serveEmptyOpenApiV2(res: ServerResponse, accept: AcceptEntry[]): void {
  if (accept.some((e) => e.type.includes('protobuf'))) {
    // Go's mime parser rejects the '@' of the media type kubectl asks for, so the answer is labelled plainly.
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': '0' });
    res.end();
    return;
  }
  sendJson(res, 200, { swagger: '2.0', info: { title: 'Kubernetes', version: SERVER_VERSION.gitVersion }, paths: {}, definitions: {} });
}

/** Handles one request; throws StatusError for the caller to send. */
export async function route(deps: RouterDeps, req: IncomingMessage, res: ServerResponse, user: UserInfo): Promise<void> {
  const { ctx } = deps;
  const method = req.method ?? 'GET';
  const url = new URL(req.url ?? '/', 'https://apiserver.invalid');
  const path = url.pathname;
  const query = url.searchParams;
  const accept = parseAccept(req.headers.accept);

  if (path === '/healthz' || path === '/livez' || path === '/readyz' || /^\/(healthz|livez|readyz)\//.test(path)) {
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
    res.end('ok');
    return;
  }
  if (path === '/version' || path === '/version/') return sendJson(res, 200, SERVER_VERSION);
  if (path.startsWith('/openapi/')) {
    if (method === 'GET' && serveOpenApi(deps, res, path)) return;
    if (method === 'GET' && (path === '/openapi/v2' || path === '/openapi/v2/')) return serveEmptyOpenApiV2(res, accept);
    throw notFoundPath();
  }

  const r = parseRoute(path);
  if (r.kind !== 'resource') {
    if (r.kind === 'not-found') throw notFoundPath();
    if (method !== 'GET') throw methodNotAllowed(method);
    switch (r.kind) {
      case 'api-versions':
        return discovery(deps, res, accept, true, () => apiVersions(deps.serverAddress()));
      case 'api-groups':
        return discovery(deps, res, accept, false, apiGroupList);
      case 'api-group':
        return sendJson(res, 200, apiGroupDocument(r.group));
      case 'api-resources':
        return sendJson(res, 200, apiResourceList(r.group, r.version));
    }
  }

  const contentType = req.headers['content-type'];
  const userAgent = req.headers['user-agent'];
  switch (method) {
    case 'GET': {
      checkAcceptable(accept);
      if (r.subresource === 'log') return serveLogs(ctx, r, res, query);
      if (r.subresource === 'exec' || r.subresource === 'portforward') throw badRequest('Upgrade request required');
      if (r.subresource === 'token') throw methodNotAllowed(method);
      if (isWatchRequest(r, query)) {
        requireVerb(r, 'watch', method);
        return serveWatch(ctx, r, req, res, query, accept, deps.watches, deps.watchSettings);
      }
      if (r.name === undefined) {
        requireVerb(r, 'list', method);
        return replyNegotiated(res, listObjects(ctx, r, query, accept), accept);
      }
      requireVerb(r, 'get', method);
      if (r.subresource === 'scale') return reply(res, getScale(ctx, r));
      return replyNegotiated(res, getObject(ctx, r, query, accept), accept);
    }
    case 'POST': {
      if (r.subresource === 'exec' || r.subresource === 'portforward') throw badRequest('Upgrade request required');
      if (r.subresource === 'token') return reply(res, createToken(ctx.store, ctx.opts.serviceAccounts, r, decodeObjectBody(await readBody(req), contentType), ctx.now()));
      requireVerb(r, 'create', method);
      if (isReviewType(r.type)) {
        const review = { user, store: ctx.store, authenticate: deps.authenticate, serviceAccounts: ctx.opts.serviceAccounts, lookup: deps.lookup };
        return reply(res, answerReview(r.type, apiVersionOf(r.group, r.version), decodeObjectBody(await readBody(req), contentType), review));
      }
      return reply(res, await createObject(ctx, r, await readBody(req), contentType, query, userAgent));
    }
    case 'PUT':
    case 'PATCH': {
      if (r.name === undefined || r.subresource === 'log' || r.subresource === 'exec' || r.subresource === 'portforward' || r.subresource === 'token') throw methodNotAllowed(method);
      requireVerb(r, method === 'PUT' ? 'update' : 'patch', method);
      const body = await readBody(req);
      if (method === 'PATCH' && isApplyPatch(contentType)) return reply(res, await applyObject(ctx, r, body, contentType, query));
      if (r.subresource === 'scale') {
        return reply(res, method === 'PUT' ? await replaceScale(ctx, r, body, contentType, query, userAgent) : await patchScale(ctx, r, body, contentType, query, userAgent));
      }
      return reply(res, method === 'PUT' ? await replaceObject(ctx, r, body, contentType, query, userAgent) : await patchObject(ctx, r, body, contentType, query, userAgent));
    }
    case 'DELETE': {
      if (r.subresource !== undefined) throw methodNotAllowed(method);
      const body = await readBody(req);
      if (r.name === undefined) {
        requireVerb(r, 'deletecollection', method);
        return reply(res, deleteCollection(ctx, r, body, query));
      }
      requireVerb(r, 'delete', method);
      return reply(res, deleteObject(ctx, r, body, query));
    }
    default:
      throw methodNotAllowed(method);
  }
}
