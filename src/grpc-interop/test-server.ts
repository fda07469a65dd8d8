// The interop tests' backends: grpc.testing.TestService on an address of its own, answering with its
// hostname (SimpleResponse.hostname and a `hostname` response header, as grpc's xDS test servers do)
// and honouring the `rpc-behavior` request header of the xDS interop tests: `sleep-<seconds>`,
// `keep-open` (never answer), `error-code-<n>`, each optionally prefixed by `hostname=<h> ` to apply
// on that backend only.

import * as grpc from '@grpc/grpc-js';
import { testingService } from './protos.js';

type Behavior = { kind: 'sleep'; seconds: number } | { kind: 'keep-open' } | { kind: 'error'; code: number };

export function parseBehaviors(values: string[], hostname: string): Behavior[] {
  const out: Behavior[] = [];
  for (const raw of values.flatMap((v) => v.split(','))) {
    let value = raw.trim();
    const only = /^hostname=(\S+)\s+(.*)$/.exec(value);
    if (only) {
      if (only[1] !== hostname) continue;
      value = only[2] ?? '';
    }
    let m: RegExpExecArray | null;
    if ((m = /^sleep-(\d+)$/.exec(value))) out.push({ kind: 'sleep', seconds: Number(m[1]) });
    else if (value === 'keep-open') out.push({ kind: 'keep-open' });
    else if ((m = /^error-code-(\d+)$/.exec(value))) out.push({ kind: 'error', code: Number(m[1]) });
    else if (value !== '') throw new Error(`unknown rpc-behavior "${value}" (sleep-N, keep-open, error-code-N, optionally after "hostname=H ")`);
  }
  return out;
}

export class TestServer {
  private server: grpc.Server | undefined;
  /** Calls held open by `keep-open`, failed when the server stops. */
  private readonly held = new Set<() => void>();

  constructor(
    private readonly protos: grpc.GrpcObject,
    readonly hostname: string,
    readonly address: string,
    readonly port: number,
  ) {}

  get running(): boolean {
    return this.server !== undefined;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = new grpc.Server();
    const answer = <Res>(call: grpc.ServerUnaryCall<unknown, Res>, callback: grpc.sendUnaryData<Res>, response: Res): void => {
      const header = new grpc.Metadata();
      header.set('hostname', this.hostname);
      let behaviors: Behavior[];
      try {
        behaviors = parseBehaviors(call.metadata.get('rpc-behavior').map(String), this.hostname);
      } catch (err) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: (err as Error).message });
        return;
      }
      call.sendMetadata(header);
      const finish = (): void => {
        const error = behaviors.find((b) => b.kind === 'error');
        if (error) callback({ code: error.code, details: `rpc-behavior error-code-${error.code}` });
        else callback(null, response);
      };
      if (behaviors.some((b) => b.kind === 'keep-open')) {
        const release = (): void => callback({ code: grpc.status.UNAVAILABLE, details: 'server stopped' });
        this.held.add(release);
        call.on('cancelled', () => this.held.delete(release));
        return;
      }
      const sleep = behaviors.reduce((s, b) => (b.kind === 'sleep' ? s + b.seconds : s), 0);
      if (sleep > 0) setTimeout(finish, sleep * 1000);
      else finish();
    };
    server.addService(testingService(this.protos, 'TestService').service, {
      EmptyCall: (call: grpc.ServerUnaryCall<unknown, object>, callback: grpc.sendUnaryData<object>) => answer(call, callback, {}),
      UnaryCall: (call: grpc.ServerUnaryCall<{ fill_server_id?: boolean }, object>, callback: grpc.sendUnaryData<object>) =>
        answer(call, callback, { hostname: this.hostname, ...(call.request.fill_server_id ? { server_id: this.hostname } : {}) }),
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`${this.address}:${this.port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    this.server = server;
  }

  /** Stops at once: connections are closed, so clients see the backend gone (as a killed process). */
  stop(): void {
    for (const release of this.held) release();
    this.held.clear();
    this.server?.forceShutdown();
    this.server = undefined;
  }
}
