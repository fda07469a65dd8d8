// A raw SotW ADS client for control-plane tests: subscribes, ACKs every response (as Envoy does
// when it accepts config) and keeps the latest resources of each type, decoded.

import { adsClient } from '../../xds/testdata/ads-client.js';
import { unpackAny, type DiscoveryRequest, type DiscoveryResponse, type TypeUrl, type XdsNode } from '../../xds/protos.js';

export class AdsWatcher {
  private readonly client: ReturnType<typeof adsClient>;
  private readonly stream: ReturnType<ReturnType<typeof adsClient>['StreamAggregatedResources']>;
  private readonly latest = new Map<string, Map<string, Record<string, unknown>>>();
  private readonly subscriptions = new Map<string, string[]>();
  /** Every response with the time it arrived. */
  readonly received: Array<{ typeUrl: string; at: number; version: string }> = [];
  error: Error | undefined;

  constructor(port: number, node: XdsNode, subscriptions: Array<{ typeUrl: TypeUrl; names: string[] }>) {
    this.client = adsClient(port);
    this.stream = this.client.StreamAggregatedResources();
    this.stream.on('data', (response: DiscoveryResponse) => this.onResponse(response));
    this.stream.on('error', (err: Error) => (this.error = err));
    let first = true;
    for (const { typeUrl, names } of subscriptions) {
      this.subscriptions.set(typeUrl, names);
      const request: DiscoveryRequest = { type_url: typeUrl, resource_names: names, ...(first ? { node } : {}) };
      first = false;
      this.stream.write(request);
    }
  }

  resources(typeUrl: string): ReadonlyMap<string, Record<string, unknown>> {
    return this.latest.get(typeUrl) ?? new Map();
  }

  close(): void {
    this.stream.end();
    this.client.close();
  }

  private onResponse(response: DiscoveryResponse): void {
    const byName = new Map<string, Record<string, unknown>>();
    for (const any of response.resources) {
      const message = unpackAny(any).message;
      byName.set(String(message['name'] ?? message['cluster_name']), message);
    }
    this.latest.set(response.type_url, byName);
    this.received.push({ typeUrl: response.type_url, at: Date.now(), version: response.version_info });
    this.stream.write({
      type_url: response.type_url,
      resource_names: this.subscriptions.get(response.type_url) ?? [],
      version_info: response.version_info,
      response_nonce: response.nonce,
    });
  }
}

/** Polls until `check` holds; the message says what was awaited and what was last seen. */
export async function eventually(what: string, check: () => boolean, timeoutMs: number, seen: () => unknown = () => undefined): Promise<number> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${JSON.stringify(seen())}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now() - start;
}
