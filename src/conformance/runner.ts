// Runs one case against both targets: serve its resources, wait until both applied them, send the
// same requests to each (Envoy first), and collect what each answered.

import type { ConformanceCase, Observation } from './case.js';
import { targetClient, type TargetClient } from './client.js';
import { ROUTE_NAME, targetSnapshot, type UpstreamAddress } from './resources.js';
import type { Target, Targets } from './targets.js';
import type { EchoUpstream } from './upstream.js';

export interface CaseRun {
  /** The meshwork proxy refused the case's config (its NACK message); it then has no observations. */
  meshworkNack: string | undefined;
  envoy: Observation[];
  meshwork: Observation[];
}

/** The snapshot before the first case: the listener, an empty route configuration. */
export function emptySnapshot(upstreams: Map<string, EchoUpstream>) {
  return (t: Target) => targetSnapshot({ routes: [{ name: ROUTE_NAME, virtual_hosts: [] }], clusters: [], endpoints: {} }, t.listen, addressOf(upstreams));
}

function addressOf(upstreams: Map<string, EchoUpstream>): (name: string) => UpstreamAddress {
  return (name) => {
    const u = upstreams.get(name);
    if (!u) throw new Error(`no test upstream '${name}'`);
    return { host: u.host, port: u.port };
  };
}

async function runAll<T>(count: number, concurrency: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await one(i);
      }
    }),
  );
  return out;
}

export class CaseRunner {
  private readonly clients = new Map<string, TargetClient>();
  private serial = 0;
  /** The HCM fields of the listener last served: a change replaces the listener, so connections start afresh. */
  private lastHcm = '[{},{},{}]';

  constructor(
    private readonly targets: Targets,
    private readonly upstreams: Map<string, EchoUpstream>,
  ) {
    for (const t of targets.list) this.clients.set(t.name, targetClient(t.listen));
  }

  async run(c: ConformanceCase): Promise<CaseRun> {
    const resources = c.resources();
    const marker = ++this.serial;
    const hosts = Object.fromEntries(Object.entries(resources.endpoints).map(([cluster, names]) => [cluster, names.length]));
    const { meshworkNack } = await this.targets.push((t) => targetSnapshot(resources, t.listen, addressOf(this.upstreams), marker), hosts);
    const hcm = JSON.stringify([resources.hcm ?? {}, resources.network ?? {}, resources.downstreamTls ?? {}]);
    if (hcm !== this.lastHcm) {
      // Envoy drains the replaced listener's connections: a kept-alive socket may be closed under a request.
      this.lastHcm = hcm;
      for (const t of this.targets.list) {
        this.clients.get(t.name)?.close();
        this.clients.set(t.name, targetClient(t.listen));
      }
    }
    const run: CaseRun = { meshworkNack, envoy: [], meshwork: [] };
    for (const t of this.targets.list) {
      if (t.name === 'meshwork' && meshworkNack) continue;
      run[t.name] = await this.observe(c, t);
    }
    return run;
  }

  private async observe(c: ConformanceCase, t: Target): Promise<Observation[]> {
    const client = this.clients.get(t.name)!;
    const prefix = `${t.name}-${++this.serial}`;
    if (c.accessLog && (c.distribution || c.concurrent)) throw new Error(`case "${c.name}": accessLog needs requests sent one after another`);
    const logged = this.targets.accessLogs[t.name];
    logged.length = 0;
    if (c.distribution) {
      const d = c.distribution;
      return runAll(d.count, 8, (i) => client.send(typeof d.request === 'function' ? d.request(i) : d.request, `${prefix}-${i}`));
    }
    let out: Observation[] = [];
    const keys: string[] = [];
    if (c.concurrent) {
      const requests = c.requests ?? [];
      requests.forEach((_, i) => keys.push(`${prefix}-${i}`));
      out = await Promise.all(requests.map(async (req, i) => {
        await new Promise((r) => setTimeout(r, req.startAtMs ?? 0));
        return client.send(req, keys[i]!);
      }));
    }
    for (const [i, req] of (c.concurrent ? [] : c.requests ?? []).entries()) {
      keys.push(`${prefix}-${i}`);
      out.push(await client.send(req, keys[i]!));
    }
    if (c.shadow) {
      const shadow = this.upstreams.get(c.shadow)!;
      // Mirrored copies are sent on the side: give them a moment to arrive.
      const deadline = Date.now() + 1000;
      const find = (k: string) => shadow.seen.find((s) => s.headers['x-test-key'] === k) ?? null;
      while (Date.now() < deadline && !keys.every((k) => find(k))) await new Promise((r) => setTimeout(r, 10));
      keys.forEach((k, i) => (out[i]!.shadowSaw = find(k)));
    }
    if (c.accessLog) {
      // Envoy's gRPC logger sends a batch every buffer_flush_interval (1 s by default).
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline && logged.length < out.length) await new Promise((r) => setTimeout(r, 20));
      out.forEach((o, i) => (o.accessLog = logged[i] ?? null));
    }
    return out;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }
}
