// A raw ADS client for tests: sends exactly the requests a test writes and queues responses.

import * as grpc from '@grpc/grpc-js';
import {
  adsServiceDefinition,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
  type XdsNode,
} from '../protos.js';

type AdsClient = grpc.Client & {
  StreamAggregatedResources(): grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  DeltaAggregatedResources(): grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
};

function isAdsClient(client: grpc.Client): client is AdsClient {
  return 'StreamAggregatedResources' in client && 'DeltaAggregatedResources' in client;
}

export function adsClient(port: number): AdsClient {
  const Ctor = grpc.makeGenericClientConstructor(adsServiceDefinition(), 'AggregatedDiscoveryService');
  const client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  if (!isAdsClient(client)) throw new Error('generic ADS client lacks its methods');
  return client;
}

/** Responses in arrival order; `next` waits for the next one or fails after timeoutMs. */
export class ResponseQueue<T> {
  private readonly items: T[] = [];
  private waiter: ((item: T) => void) | undefined;
  error: Error | undefined;
  ended = false;

  constructor(stream: NodeJS.EventEmitter) {
    stream.on('data', (item: T) => {
      const w = this.waiter;
      this.waiter = undefined;
      if (w) w(item);
      else this.items.push(item);
    });
    stream.on('error', (err: Error) => (this.error = err));
    stream.on('end', () => (this.ended = true));
  }

  get length(): number {
    return this.items.length;
  }

  next(timeoutMs = 3000): Promise<T> {
    const queued = this.items.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no response within ${timeoutMs} ms${this.error ? ` (stream error: ${this.error.message})` : ''}`));
      }, timeoutMs);
      this.waiter = (item) => {
        clearTimeout(timer);
        resolve(item);
      };
    });
  }
}

/** Polls `check` until it holds (state that changes asynchronously on the server side). */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function testNode(id: string): XdsNode {
  return { id, cluster: '', metadata: { fields: { CLUSTER_ID: { string_value: 'cluster-7' }, NAMESPACE: { string_value: 'test' } } } };
}
