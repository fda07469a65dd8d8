// Watch streams: newline-delimited JSON events in a chunked 200 response, as the apiserver sends them,
// or length-delimited protobuf WatchEvent frames for clients that prefer protobuf (client-go's).
// Errors after the stream started (410 for a resourceVersion the store no longer remembers) are an
// ERROR event carrying a Status, then the end of the stream; the client relists.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiVersionOf } from '../../k8s/kinds.js';
import type { KubeObject } from '../../k8s/object.js';
import { StatusError } from '../../k8s/status.js';
import type { WatchEvent } from '../store/store.js';
import type { AcceptEntry } from './http.js';
import { acceptsJson, queryBool, queryInt, toStatusError } from './http.js';
import type { ApiContext } from './options.js';
import type { TableVersion } from './reads.js';
import { notAcceptable, prefersProtobuf, wantsTable } from './reads.js';
import { PROTOBUF_WATCH_MEDIA_TYPE, encodeKubernetesProtobuf, encodeWatchFrame } from './protobuf.js';
import type { ResourceRoute } from './routes.js';
import { asServed } from './served.js';
import { parseIncludeObject, toTable } from './tables.js';

export interface WatchSettings {
  /** How often BOOKMARK events go out when the client allows them. */
  bookmarkIntervalMs: number;
  /** Watches without timeoutSeconds end after a random time in [min, 2*min), as the apiserver's do. */
  minTimeoutMs: number;
  /** A client that reads slower than this many buffered bytes is cut off instead of growing memory forever. */
  maxBufferedBytes: number;
}

export const DEFAULT_WATCH_SETTINGS: WatchSettings = {
  bookmarkIntervalMs: 60_000,
  minTimeoutMs: 30 * 60_000,
  maxBufferedBytes: 16 * 1024 * 1024,
};

/** The watches in flight, so that closing the server ends them. */
export class ActiveWatches {
  private readonly enders = new Set<() => void>();
  add(end: () => void): () => void {
    this.enders.add(end);
    return () => this.enders.delete(end);
  }
  get size(): number {
    return this.enders.size;
  }
  endAll(): void {
    for (const end of [...this.enders]) end();
  }
}

export function isWatchRequest(route: ResourceRoute, query: URLSearchParams): boolean {
  return route.watchPath || queryBool(query, 'watch');
}

export function serveWatch(
  ctx: ApiContext,
  route: ResourceRoute,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  accept: AcceptEntry[],
  active: ActiveWatches,
  settings: WatchSettings,
): void {
  const t = route.type;
  const table: TableVersion | undefined = wantsTable(accept);
  const includeObject = parseIncludeObject(query.get('includeObject'));
  const timeoutSeconds = queryInt(query, 'timeoutSeconds');
  const bookmarks = queryBool(query, 'allowWatchBookmarks');
  let fieldSelector = query.get('fieldSelector') || undefined;
  // A watch of one object by name (`/watch/namespaces/ns/pods/x`) is a watch with a name selector.
  if (route.name !== undefined) fieldSelector = [`metadata.name=${route.name}`, fieldSelector].filter(Boolean).join(',');

  let sentColumns = false;
  // Protobuf for the kinds Kubernetes defines a message for; a custom resource's watch stays JSON (as in Kubernetes).
  const apiVersion = apiVersionOf(route.group, route.version);
  const wantsProtobuf = !table && prefersProtobuf(accept);
  const protobuf = wantsProtobuf && encodeKubernetesProtobuf({ apiVersion, kind: t.kind, metadata: {} }) !== undefined;
  if (wantsProtobuf && !protobuf && !acceptsJson(accept)) throw notAcceptable(` (${t.kind} has no protobuf encoding; ask for application/json)`);
  const encode = (type: string, object: KubeObject | object): string | Buffer =>
    protobuf ? encodeWatchFrame(type, encodeKubernetesProtobuf(object as Record<string, unknown>)!) : `${JSON.stringify({ type, object })}\n`;
  const served = (obj: KubeObject): object => {
    const o = asServed(obj, route.group, route.version);
    if (!table) return o;
    const tbl = toTable(t, [o], { now: ctx.now(), includeObject, omitColumns: sentColumns });
    sentColumns = true;
    return table === 'v1' ? tbl : { ...tbl, apiVersion: 'meta.k8s.io/v1beta1' };
  };

  res.writeHead(200, { 'Content-Type': protobuf ? PROTOBUF_WATCH_MEDIA_TYPE : 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();

  let ended = false;
  let stop: (() => void) | undefined;
  const timers: NodeJS.Timeout[] = [];
  const end = (): void => {
    if (ended) return;
    ended = true;
    stop?.();
    for (const timer of timers) clearTimeout(timer);
    unregister();
    if (!res.writableEnded) res.end();
  };
  const unregister = active.add(end);
  const write = (line: string | Buffer): void => {
    if (ended) return;
    res.write(line);
    if (res.writableLength > settings.maxBufferedBytes) {
      ctx.log(`watch ${req.url ?? ''}: client too slow (${res.writableLength} bytes buffered), ending the watch`);
      end();
    }
  };

  res.on('close', end);
  res.on('error', (err) => {
    ctx.log(`watch ${req.url ?? ''}: response error: ${err.message}`);
    end();
  });

  const timeoutMs = timeoutSeconds !== undefined && timeoutSeconds > 0 ? timeoutSeconds * 1000 : settings.minTimeoutMs * (1 + Math.random());
  timers.push(setTimeout(end, timeoutMs));
  if (bookmarks) {
    const bookmark = (): void => {
      write(encode('BOOKMARK', { kind: t.kind, apiVersion, metadata: { resourceVersion: ctx.store.currentResourceVersion() } }));
      timers.push(setTimeout(bookmark, settings.bookmarkIntervalMs));
    };
    timers.push(setTimeout(bookmark, settings.bookmarkIntervalMs));
  }

  try {
    stop = ctx.store.watch(
      t,
      {
        namespace: route.namespace,
        labelSelector: query.get('labelSelector') || undefined,
        fieldSelector,
        resourceVersion: query.get('resourceVersion') ?? undefined,
      },
      (event: WatchEvent) => write(encode(event.type, served(event.object))),
    );
    // The store may have delivered events and then the client may already be gone.
    if (ended) stop();
  } catch (err) {
    const status = toStatusError(err);
    if (!(err instanceof StatusError)) ctx.log(`watch ${req.url ?? ''}: ${status.message}`);
    write(encode('ERROR', status.toJSON()));
    end();
  }
}
