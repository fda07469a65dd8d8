// The xDS interop clients under test and one running client process: its bootstrap (a proxyless node
// of namespace `interop` in cluster-1, as Istio's agent writes it for gRPC), its stats port, and the
// calls the driver makes there (LoadBalancerStatsService, XdsUpdateClientConfigureService, CSDS).

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { REPO_ROOT } from '../translate/testdata/fixture.js';
import { CLIENT_ZONE, NAMESPACE } from './mesh.js';
import { testingService } from './protos.js';
import { debianGrpcio, type InteropTools } from './tools.js';

export type ClientId = 'grpc-js-xds' | 'grpcio' | 'grpcio-debian' | 'grpc-go';

export interface ClientKind {
  id: ClientId;
  /** Name and version, for the table. */
  label: string;
  /** Why it cannot run here, when it cannot. */
  missing?: string;
  command(args: string[], files: { protoDir: string; descriptorSet: string }): { file: string; args: string[]; env: NodeJS.ProcessEnv };
}

const require = createRequire(import.meta.url);
const NODE_CLIENT = join(dirname(fileURLToPath(import.meta.url)), 'node-client.js');
const PYTHON_CLIENT = join(REPO_ROOT, 'interop', 'python-client', 'xds_interop_client.py');

export function clientKinds(tools: InteropTools): ClientKind[] {
  const grpcJsXds = (require('@grpc/grpc-js-xds/package.json') as { version: string }).version;
  const debian = debianGrpcio();
  const setUp = 'run node scripts/ensure-grpc-interop.mjs (npm test does)';
  return [
    {
      id: 'grpc-js-xds',
      label: `@grpc/grpc-js-xds ${grpcJsXds}`,
      command: (args, files) => ({ file: process.execPath, args: [NODE_CLIENT, ...args, `--proto_dir=${files.protoDir}`], env: {} }),
    },
    {
      id: 'grpcio',
      label: tools.grpcio ? `grpcio ${tools.grpcio.version} (C-core)` : 'grpcio (C-core)',
      ...(tools.grpcio ? {} : { missing: `the pinned grpcio is not installed in .tools/grpcio: ${setUp}` }),
      command: (args, files) => ({
        file: tools.grpcio?.python ?? 'python3',
        args: [PYTHON_CLIENT, ...args, `--descriptor_set=${files.descriptorSet}`],
        env: { PYTHONPATH: tools.grpcio?.path ?? '', PYTHONNOUSERSITE: '1' },
      }),
    },
    {
      id: 'grpcio-debian',
      label: 'version' in debian ? `Debian python3-grpcio ${debian.version}` : 'Debian python3-grpcio',
      ...('missing' in debian ? { missing: debian.missing } : {}),
      command: (args, files) => ({
        file: 'python' in debian ? debian.python : '/usr/bin/python3',
        args: [PYTHON_CLIENT, ...args, `--descriptor_set=${files.descriptorSet}`],
        env: { PYTHONPATH: '', PYTHONNOUSERSITE: '1' },
      }),
    },
    {
      id: 'grpc-go',
      label: `grpc-go ${goGrpcVersion()}`,
      ...(tools.goClient ? {} : { missing: tools.go ? `the Go client is not built: ${setUp}` : 'no Go toolchain (go on PATH or /usr/local/go/bin/go)' }),
      command: (args) => ({ file: tools.goClient ?? 'xds-interop-client', args, env: {} }),
    },
  ];
}

function goGrpcVersion(): string {
  const goMod = readFileSync(join(REPO_ROOT, 'interop', 'go-client', 'go.mod'), 'utf8');
  return /google\.golang\.org\/grpc (v\S+)/.exec(goMod)?.[1] ?? '?';
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface PeerStats {
  rpcs_by_peer: Record<string, number>;
  num_failures: number;
  rpcs_by_method: Record<string, { rpcs_by_peer: Record<string, number> }>;
}

export interface AccumulatedStats {
  stats_per_method: Record<string, { rpcs_started: number; result: Record<string, number> }>;
}

export interface ClientOptions {
  qps?: number;
  rpc?: string;
  metadata?: string;
  rpcTimeoutSec?: number;
}

export interface CsdsConfig {
  type_url: string;
  name: string;
  version_info: string;
  client_status: string;
}

type Unary<Req, Res> = (req: Req, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Res) => void) => void;

let csdsService: grpc.ServiceClientConstructor | undefined;
function csdsConstructor(): grpc.ServiceClientConstructor {
  if (csdsService) return csdsService;
  const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  const definition = protoLoader.loadSync('envoy/service/status/v3/csds.proto', {
    keepCase: true,
    enums: String,
    longs: Number,
    includeDirs: ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d)),
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { envoy: { service: { status: { v3: { ClientStatusDiscoveryService: grpc.ServiceClientConstructor } } } } };
  csdsService = pkg.envoy.service.status.v3.ClientStatusDiscoveryService;
  return csdsService;
}

/** One client process. */
export class ClientProcess {
  private child: ChildProcess | undefined;
  private output = '';
  private exited: string | undefined;
  private stats!: grpc.Client;
  private configure!: grpc.Client;
  private csds!: grpc.Client;
  readonly nodeId: string;

  constructor(
    readonly kind: ClientKind,
    private readonly caseName: string,
    private readonly protos: grpc.GrpcObject,
  ) {
    this.nodeId = `sidecar~127.0.0.1~${kind.id}-${caseName.replaceAll('_', '-')}.${NAMESPACE}~${NAMESPACE}.svc.cluster.local`;
  }

  async start(opts: { xdsPort: number; target: string; workDir: string; protoDir: string; descriptorSet: string } & ClientOptions): Promise<void> {
    const bootstrap = join(opts.workDir, `bootstrap-${this.kind.id}-${this.caseName}.json`);
    writeFileSync(bootstrap, JSON.stringify({
      xds_servers: [{ server_uri: `127.8.0.1:${opts.xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: this.nodeId, metadata: { NAMESPACE, CLUSTER_ID: CLIENT_ZONE, GENERATOR: 'grpc' }, locality: { region: 'local', zone: CLIENT_ZONE } },
    }));
    const port = await freePort();
    const args = [`--server=${opts.target}`, `--stats_port=${port}`, `--qps=${opts.qps ?? 100}`, `--rpc=${opts.rpc ?? 'UnaryCall'}`, `--rpc_timeout_sec=${opts.rpcTimeoutSec ?? 20}`];
    if (opts.metadata) args.push(`--metadata=${opts.metadata}`);
    const command = this.kind.command(args, { protoDir: opts.protoDir, descriptorSet: opts.descriptorSet });
    const child = spawn(command.file, command.args, { env: { ...process.env, ...command.env, GRPC_XDS_BOOTSTRAP: bootstrap }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('exit', (code, signal) => (this.exited = `exited (${signal ?? code})`));
    child.on('error', (err) => (this.exited = `did not start: ${err.message}`));
    const address = `127.0.0.1:${port}`;
    // Until the port listens: a gRPC channel that found it closed backs off for seconds.
    const deadline = Date.now() + 20_000;
    while (!(await listening(port))) {
      if (this.exited || Date.now() > deadline) throw new Error(`${this.kind.label} ${this.exited ?? 'does not listen on its stats port'}: ${this.lastOutput()}`);
      await sleep(100);
    }
    this.stats = new (testingService(this.protos, 'LoadBalancerStatsService'))(address, grpc.credentials.createInsecure());
    this.configure = new (testingService(this.protos, 'XdsUpdateClientConfigureService'))(address, grpc.credentials.createInsecure());
    this.csds = new (csdsConstructor())(address, grpc.credentials.createInsecure());
    for (;;) {
      try {
        await this.accumulated();
        return;
      } catch (err) {
        if (this.exited || Date.now() > deadline) throw new Error(`${this.kind.label} ${this.exited ?? 'does not answer on its stats port'}: ${this.lastOutput()}`, { cause: err });
        await sleep(100);
      }
    }
  }

  lastOutput(): string {
    return this.output.trim().split('\n').slice(-5).join(' | ');
  }

  private call<Req, Res>(client: grpc.Client, method: string, req: Req, timeoutMs: number): Promise<Res> {
    if (this.exited) return Promise.reject(new Error(`${this.kind.label} ${this.exited}: ${this.lastOutput()}`));
    const fn = (client as unknown as Record<string, Unary<Req, Res>>)[method];
    if (!fn) throw new Error(`no method ${method}`);
    return new Promise((resolve, reject) =>
      fn.call(client, req, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : res ? resolve(res) : reject(new Error(`${method}: no answer`)))),
    );
  }

  /** The peers of the next `numRpcs` RPCs sent (partial after `timeoutSec`). */
  peers(numRpcs: number, timeoutSec = 10): Promise<PeerStats> {
    return this.call(this.stats, 'GetClientStats', { num_rpcs: numRpcs, timeout_sec: timeoutSec }, (timeoutSec + 5) * 1000);
  }

  accumulated(): Promise<AccumulatedStats> {
    return this.call(this.stats, 'GetClientAccumulatedStats', {}, 5000);
  }

  setBehaviour(req: { types: Array<'UNARY_CALL' | 'EMPTY_CALL'>; metadata?: Array<{ type: 'UNARY_CALL' | 'EMPTY_CALL'; key: string; value: string }>; timeout_sec?: number }): Promise<unknown> {
    return this.call(this.configure, 'Configure', { metadata: [], ...req }, 5000);
  }

  /** The client's xDS config by CSDS: per resource, its type, name, version and status. */
  async csdsConfigs(): Promise<CsdsConfig[]> {
    const res = await this.call<object, { config: Array<{ generic_xds_configs?: CsdsConfig[] }> }>(this.csds, 'FetchClientStatus', {}, 5000);
    return res.config.flatMap((c) => c.generic_xds_configs ?? []);
  }

  stop(): void {
    for (const c of [this.stats, this.configure, this.csds]) c?.close();
    if (this.child?.pid !== undefined && !this.exited) this.child.kill('SIGKILL');
  }
}
