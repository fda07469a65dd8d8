// A gRPC xDS interop client on @grpc/grpc-js-xds (grpc/grpc doc/xds-test-descriptions.md), run as its
// own process (grpc-js-xds reads its bootstrap once per process): sends UnaryCall and/or EmptyCall of
// grpc.testing.TestService at a fixed rate to an xds:/// target and serves LoadBalancerStatsService,
// XdsUpdateClientConfigureService and the admin services (CSDS, channelz) on --stats_port.
// Flags as grpc's interop clients, plus --proto_dir (where grpc/testing/test.proto is).

import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { register as registerXds } from '@grpc/grpc-js-xds';
import { loadTestProtos, testingService } from './protos.js';

type Method = 'UnaryCall' | 'EmptyCall';
const ENUM_OF: Record<Method, string> = { UnaryCall: 'UNARY_CALL', EmptyCall: 'EMPTY_CALL' };
const METHOD_OF: Record<string, Method> = { UNARY_CALL: 'UnaryCall', EMPTY_CALL: 'EmptyCall' };

interface Watcher {
  remaining: number;
  pending: number;
  byPeer: Map<string, number>;
  byMethod: Map<string, Map<string, number>>;
  failures: number;
  done: () => void;
}

function parseMethod(name: string, flag: string): Method {
  if (name === 'UnaryCall' || name === 'EmptyCall') return name;
  throw new Error(`${flag}: unknown RPC type "${name}" (UnaryCall or EmptyCall)`);
}

const bump = <K>(m: Map<K, number>, k: K): void => void m.set(k, (m.get(k) ?? 0) + 1);

function main(): void {
  const { values } = parseArgs({
    options: {
      server: { type: 'string' },
      stats_port: { type: 'string' },
      qps: { type: 'string', default: '100' },
      rpc: { type: 'string', default: 'UnaryCall' },
      metadata: { type: 'string', default: '' },
      rpc_timeout_sec: { type: 'string', default: '20' },
      proto_dir: { type: 'string' },
    },
  });
  if (!values.server || !values.stats_port || !values.proto_dir) throw new Error('--server, --stats_port and --proto_dir are required');
  const protos = loadTestProtos(values.proto_dir);
  let types = (values.rpc ?? '').split(',').map((t) => parseMethod(t.trim(), '--rpc'));
  let metadata = new Map<Method, Array<[string, string]>>();
  for (const item of (values.metadata ?? '').split(',').filter(Boolean)) {
    const [type = '', key, value] = item.split(':', 3);
    if (key === undefined || value === undefined) throw new Error(`--metadata: "${item}" is not Type:key:value`);
    const method = parseMethod(type, '--metadata');
    metadata.set(method, [...(metadata.get(method) ?? []), [key, value]]);
  }
  const defaultTimeout = Number(values.rpc_timeout_sec);
  let timeoutSec = defaultTimeout;

  const watchers = new Set<Watcher>();
  const started = new Map<string, number>();
  const results = new Map<string, Map<number, number>>();

  registerXds();
  const client = new (testingService(protos, 'TestService'))(values.server, grpc.credentials.createInsecure());

  const reported = new Set<string>();
  function send(method: Method): void {
    bump(started, ENUM_OF[method]);
    const mine = [...watchers].filter((w) => w.remaining > 0);
    for (const w of mine) {
      w.remaining--;
      w.pending++;
    }
    const md = new grpc.Metadata();
    for (const [k, v] of metadata.get(method) ?? []) md.add(k, v);
    let peer = '';
    const call = (client as unknown as Record<string, (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null) => void) => grpc.ClientUnaryCall>)[method];
    const handle = call!.call(client, method === 'UnaryCall' ? { fill_server_id: true } : {}, md, { deadline: Date.now() + timeoutSec * 1000 }, (err) => {
      const code = err ? err.code : grpc.status.OK;
      if (err && !reported.has(`${method} ${code}`)) {
        // The first failure of each kind, for the driver's report.
        reported.add(`${method} ${code}`);
        console.error(`${method}: ${grpc.status[code]}: ${err.details}`);
      }
      const byCode = results.get(ENUM_OF[method]) ?? new Map<number, number>();
      results.set(ENUM_OF[method], byCode);
      bump(byCode, code);
      for (const w of mine) {
        if (!err && peer) {
          bump(w.byPeer, peer);
          const byPeer = w.byMethod.get(method) ?? new Map<string, number>();
          w.byMethod.set(method, byPeer);
          bump(byPeer, peer);
        } else w.failures++;
        w.pending--;
        if (w.remaining === 0 && w.pending === 0) w.done();
      }
    });
    handle.on('metadata', (header: grpc.Metadata) => {
      peer = String(header.get('hostname')[0] ?? '');
    });
  }

  const server = new grpc.Server();
  server.addService(testingService(protos, 'LoadBalancerStatsService').service, {
    GetClientStats: (call: grpc.ServerUnaryCall<{ num_rpcs: number; timeout_sec: number }, object>, callback: grpc.sendUnaryData<object>) => {
      let finish: () => void = () => undefined;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      const w: Watcher = { remaining: call.request.num_rpcs, pending: 0, byPeer: new Map(), byMethod: new Map(), failures: 0, done: () => finish() };
      watchers.add(w);
      const timer = setTimeout(finish, call.request.timeout_sec * 1000);
      void finished.then(() => {
        clearTimeout(timer);
        watchers.delete(w);
        callback(null, {
          rpcs_by_peer: Object.fromEntries(w.byPeer),
          num_failures: w.failures + w.remaining,
          rpcs_by_method: Object.fromEntries([...w.byMethod].map(([m, peers]) => [m, { rpcs_by_peer: Object.fromEntries(peers) }])),
        });
      });
    },
    GetClientAccumulatedStats: (_call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => {
      callback(null, {
        stats_per_method: Object.fromEntries([...started].map(([m, n]) => [m, { rpcs_started: n, result: Object.fromEntries(results.get(m) ?? []) }])),
      });
    },
  });
  server.addService(testingService(protos, 'XdsUpdateClientConfigureService').service, {
    Configure: (
      call: grpc.ServerUnaryCall<{ types: string[]; metadata: Array<{ type: string; key: string; value: string }>; timeout_sec: number }, object>,
      callback: grpc.sendUnaryData<object>,
    ) => {
      types = call.request.types.map((t) => METHOD_OF[t]).filter((m): m is Method => m !== undefined);
      metadata = new Map();
      for (const m of call.request.metadata) {
        const method = METHOD_OF[m.type];
        if (method) metadata.set(method, [...(metadata.get(method) ?? []), [m.key, m.value]]);
      }
      timeoutSec = call.request.timeout_sec || defaultTimeout;
      callback(null, {});
    },
  });
  grpc.addAdminServicesToServer(server);
  server.bindAsync(`127.0.0.1:${values.stats_port}`, grpc.ServerCredentials.createInsecure(), (err) => {
    if (err) {
      console.error(`stats port ${values.stats_port}: ${err.message}`);
      process.exit(1);
    }
  });

  const interval = 1000 / Number(values.qps);
  let next = performance.now();
  const tick = (): void => {
    for (const method of types) send(method);
    next += interval;
    setTimeout(tick, Math.max(0, next - performance.now()));
  };
  tick();
}

main();
