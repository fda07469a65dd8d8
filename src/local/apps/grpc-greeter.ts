// gRPC's helloworld Greeter as a built-in app, for proxyless gRPC in the mesh: SayHello({name})
// answers {message: "Hello <name> from version: <version>, instance: <pod name>"}.
// Run as its own process by the kubelet: `grpc-greeter.(ts|js) --version=v1 --port=7070`.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync, type MethodDefinition, type ServiceDefinition } from '@grpc/proto-loader';
import { exitWithParent, isMainModule, parseAppArgs } from './app-process.js';

export interface HelloRequest {
  name: string;
}

export interface HelloReply {
  message: string;
}

export interface GreeterOptions {
  version: string;
  /** Answered as `instance:`; the pod name, as the HTTP helloworld prints its hostname. */
  instance: string;
}

const PROTO_NAME = 'helloworld.proto';
export const SAY_HELLO_PATH = '/helloworld.Greeter/SayHello';

/**
 * The .proto beside this module (src/ under tsx; dist/ once `npm run build` has copied the assets).
 * A bare `tsc --outDir` build has no copy, so it falls back to the package's src/ tree (the package
 * root is the folder with meshwork's package.json).
 */
export function greeterProtoPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const beside = join(here, 'protos', PROTO_NAME);
  if (existsSync(beside)) return beside;
  let dir = here;
  for (let i = 0; i < 8; i++) {
    const pkgFile = join(dir, 'package.json');
    if (existsSync(pkgFile)) {
      const pkg: unknown = JSON.parse(readFileSync(pkgFile, 'utf8'));
      if (pkg && typeof pkg === 'object' && 'name' in pkg && pkg.name === 'meshwork') {
        const inSource = join(dir, 'src', 'local', 'apps', 'protos', PROTO_NAME);
        if (existsSync(inSource)) return inSource;
        break;
      }
    }
    dir = dirname(dir);
  }
  throw new Error(`cannot find ${PROTO_NAME} beside ${here} nor in the meshwork package's src/local/apps/protos`);
}

function isServiceDefinition(def: unknown): def is ServiceDefinition {
  return typeof def === 'object' && def !== null && 'SayHello' in def && typeof (def.SayHello as { path?: unknown }).path === 'string';
}

let cachedService: ServiceDefinition | undefined;

/** helloworld.Greeter loaded from the .proto with @grpc/proto-loader (once per process). */
export function greeterService(): ServiceDefinition {
  if (cachedService) return cachedService;
  const pkg = loadSync(greeterProtoPath(), { keepCase: true, defaults: true, longs: String, enums: String });
  const service = pkg['helloworld.Greeter'];
  if (!isServiceDefinition(service)) throw new Error(`${PROTO_NAME} does not define service helloworld.Greeter with SayHello`);
  cachedService = service;
  return service;
}

function sayHelloMethod(): MethodDefinition<object, object> {
  return greeterService().SayHello;
}

export function greetingFor(name: string, opts: GreeterOptions): string {
  return `Hello ${name} from version: ${opts.version}, instance: ${opts.instance}`;
}

/** A grpc-js server with Greeter registered; the caller binds it. */
export function createGreeterServer(opts: GreeterOptions): grpc.Server {
  const server = new grpc.Server();
  server.addService(greeterService(), {
    SayHello: (call: grpc.ServerUnaryCall<HelloRequest, HelloReply>, callback: grpc.sendUnaryData<HelloReply>) => {
      callback(null, { message: greetingFor(call.request.name, opts) });
    },
  });
  return server;
}

/** Binds `host:port` (port 0: any free port); resolves the bound port. */
export function bindGreeter(server: grpc.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}

/**
 * One SayHello on any grpc-js Client (plain `host:port` or an `xds:///` target): typed without
 * generated stubs, using the method's serializers from the loaded .proto.
 */
export function sayHello(client: grpc.Client, name: string, deadlineMs = 5_000): Promise<HelloReply> {
  const method = sayHelloMethod();
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest<HelloRequest, HelloReply>(
      SAY_HELLO_PATH,
      (req) => method.requestSerialize(req),
      (buf) => {
        const reply: unknown = method.responseDeserialize(buf);
        const message = typeof reply === 'object' && reply !== null && 'message' in reply ? reply.message : undefined;
        if (typeof message !== 'string') throw new Error('HelloReply without a string message');
        return { message };
      },
      { name },
      new grpc.Metadata(),
      { deadline: Date.now() + deadlineMs },
      (err, reply) => (err || !reply ? reject(err ?? new Error('SayHello: empty reply')) : resolve(reply)),
    );
  });
}

async function main(): Promise<void> {
  const args = parseAppArgs(process.argv.slice(2));
  const version = args.get('version') ?? 'v1';
  const port = Number(args.get('port') ?? '7070');
  const host = process.env.MESHWORK_BIND_IP || process.env.POD_IP || '127.0.0.1';
  const instance = process.env.HOSTNAME || process.env.POD_NAME || 'grpc-greeter';
  exitWithParent();
  const server = createGreeterServer({ version, instance });
  try {
    await bindGreeter(server, host, port);
  } catch (err) {
    console.error(`grpc-greeter: cannot serve on ${host}:${port}: ${(err as Error).message}`);
    process.exit(1);
  }
  console.log(`grpc-greeter ${version} serving helloworld.Greeter on ${host}:${port}`);
  process.on('SIGTERM', () => {
    console.log('grpc-greeter: SIGTERM, shutting down');
    // Calls in flight get a moment to finish; a client holding its channel open must not keep us alive.
    const force = setTimeout(() => {
      server.forceShutdown();
      process.exit(0);
    }, 2_000);
    force.unref();
    server.tryShutdown(() => process.exit(0));
  });
}

if (isMainModule(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`grpc-greeter: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  });
}
