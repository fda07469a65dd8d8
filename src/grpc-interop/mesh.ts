// The mesh the interop clients see: Istio YAML (Services, VirtualServices, DestinationRules,
// ServiceEntries) plus the registry's endpoints -- the test servers, each on its own 127.8.1.x address
// -- translated by our translator for each connected proxyless client and served by our xDS server,
// as the control plane does (identity from the node, MeshTranslator, toXdsSnapshot, SnapshotCache).

import { createHash } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { proxyIdentity } from '../controlplane/identity.js';
import { toXdsSnapshot } from '../controlplane/proxy-resources.js';
import type { MeshEndpoint, MeshSnapshot } from '../registry/model.js';
import { buildSnapshot, FixtureCluster, parseYaml } from '../translate/testdata/fixture.js';
import type { Problem } from '../config/problems.js';
import { analyze, MeshTranslator } from '../translate/translate.js';
import { SnapshotCache } from '../xds/cache.js';
import type { XdsNode } from '../xds/protos.js';
import { startXdsServer, type RunningXdsServer } from '../xds/server.js';
import { TestServer } from './test-server.js';

export const NAMESPACE = 'interop';
export const SERVER_PORT = 8080;
/** The clients' own locality: the cluster their bootstrap names. */
export const CLIENT_ZONE = 'cluster-1';

/** The Services every case starts from: the target `xds-test` and a second backend service. */
export const BASE_SERVICES = `
apiVersion: v1
kind: Service
metadata: {name: xds-test, namespace: ${NAMESPACE}}
spec:
  selector: {app: xds-test-server}
  ports: [{name: grpc, port: ${SERVER_PORT}, targetPort: ${SERVER_PORT}}]
---
apiVersion: v1
kind: Service
metadata: {name: xds-test-alt, namespace: ${NAMESPACE}}
spec:
  selector: {app: xds-test-alt}
  ports: [{name: grpc, port: ${SERVER_PORT}, targetPort: ${SERVER_PORT}}]
`;

export const TARGET = `xds:///xds-test.${NAMESPACE}.svc.cluster.local:${SERVER_PORT}`;

export interface BackendSpec {
  /** Also its hostname in answers. */
  name: string;
  labels: Record<string, string>;
  /** The member cluster (= zone) it runs in; the clients run in CLIENT_ZONE. */
  zone?: string;
}

interface Backend {
  spec: BackendSpec;
  server: TestServer;
  /** In the registry (its Deployment exists); a stopped server can still be registered. */
  registered: boolean;
}

export class InteropMesh {
  readonly cache = new SnapshotCache();
  private xds: RunningXdsServer | undefined;
  private readonly nodes = new Map<string, XdsNode>();
  private readonly backends = new Map<string, Backend>();
  private config = '';
  private nextAddress = 2;
  private translator: MeshTranslator | undefined;

  constructor(private readonly protos: grpc.GrpcObject) {}

  get port(): number {
    if (!this.xds) throw new Error('the xDS server is not started');
    return this.xds.port;
  }

  get xdsServer(): RunningXdsServer {
    if (!this.xds) throw new Error('the xDS server is not started');
    return this.xds;
  }

  async start(): Promise<void> {
    this.xds = await startXdsServer({
      host: '127.8.0.1',
      port: 0,
      cache: this.cache,
      log: () => undefined,
      onStreamOpen: (node) => {
        if (!node.id || this.nodes.has(node.id)) return;
        this.nodes.set(node.id, node);
        this.pushTo(node);
      },
    });
  }

  async close(): Promise<void> {
    for (const b of this.backends.values()) b.server.stop();
    await this.xds?.close();
  }

  /** A new case: no backends, no Istio config, and the clients of earlier cases forgotten. */
  reset(): void {
    for (const b of this.backends.values()) b.server.stop();
    this.backends.clear();
    this.nodes.clear();
    this.config = '';
    this.push();
  }

  async addBackends(specs: BackendSpec[]): Promise<void> {
    for (const spec of specs) {
      const server = new TestServer(this.protos, spec.name, `127.8.1.${this.nextAddress++}`, SERVER_PORT);
      if (this.nextAddress > 254) this.nextAddress = 2;
      await server.start();
      this.backends.set(spec.name, { spec, server, registered: true });
    }
    this.push();
  }

  /** Replaces the Istio config (the Services of BASE_SERVICES always exist). */
  applyConfig(yaml: string): void {
    this.config = yaml;
    this.push();
  }

  /** Removes backends from the registry (their Deployment is deleted); their servers keep running. */
  unregister(names: string[]): void {
    for (const name of names) this.backend(name).registered = false;
    this.push();
  }

  stop(names: string[]): void {
    for (const name of names) this.backend(name).server.stop();
  }

  async resume(names: string[]): Promise<void> {
    for (const name of names) await this.backend(name).server.start();
  }

  private backend(name: string): Backend {
    const b = this.backends.get(name);
    if (!b) throw new Error(`no backend ${name}`);
    return b;
  }

  snapshot(): MeshSnapshot {
    const cluster = new FixtureCluster(CLIENT_ZONE, 8).apply(NAMESPACE, parseYaml(BASE_SERVICES + (this.config ? `---\n${this.config}` : ''), 'interop config'));
    const base = buildSnapshot([cluster]);
    const selectors = new Map(cluster.objects.filter((o) => o.object.kind === 'Service').map((o) => [o.object.metadata.name, (o.object.spec as { selector?: Record<string, string> }).selector ?? {}]));
    const endpoints: MeshEndpoint[] = [];
    for (const { spec, server, registered } of this.backends.values()) {
      if (!registered) continue;
      for (const service of base.services) {
        const selector = selectors.get(service.name);
        if (!selector || !Object.entries(selector).every(([k, v]) => spec.labels[k] === v)) continue;
        endpoints.push({
          hostname: service.hostname,
          cluster: spec.zone ?? CLIENT_ZONE,
          address: server.address,
          ports: { grpc: server.port },
          labels: spec.labels,
          locality: { region: 'local', zone: spec.zone ?? CLIENT_ZONE },
          // A stopped backend stays ready here, as a stopped VM stays in its group in grpc's tests:
          // the clients must notice it themselves.
          ready: true,
          podName: spec.name,
          namespace: NAMESPACE,
          hasSidecar: false,
        });
      }
    }
    const content = { ...base, endpoints };
    const version = createHash('sha256').update(JSON.stringify({ ...content, version: '' })).digest('hex').slice(0, 12);
    return { ...content, version };
  }

  private push(): void {
    this.translator = new MeshTranslator(this.snapshot(), this.translator);
    for (const node of this.nodes.values()) this.pushTo(node);
  }

  private pushTo(node: XdsNode): void {
    this.translator ??= new MeshTranslator(this.snapshot());
    const identity = proxyIdentity(node, { defaultCluster: CLIENT_ZONE, findPod: () => undefined });
    this.cache.setSnapshot(node.id ?? '', toXdsSnapshot(this.translator.translateScoped(identity)));
  }

  /** What `meshwork analyze` reports on the mesh's config: errors and unsupported fields. */
  problems(): Problem[] {
    return analyze(this.snapshot()).filter((p) => p.severity === 'error' || p.code.startsWith('unsupported'));
  }
}

