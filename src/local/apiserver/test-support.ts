// Shared by this folder's tests: a server on 127.0.0.1 with a throwaway certificate, an in-memory
// store, a kubeconfig for the real kubectl, and a runner for it.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { applyDefaults } from '../../config/defaults.js';
import type { ResourceType } from '../../k8s/kinds.js';
import type { KubeObject } from '../../k8s/object.js';
import type { FieldCause } from '../../k8s/status.js';
import { validateObject } from '../../config/validate.js';
import type { PodRuntime } from '../kubelet/runtime.js';
import { openSqliteStore } from '../store/sqlite-store.js';
import type { SqliteStoreOptions } from '../store/sqlite-store.js';
import type { ObjectStore } from '../store/store.js';
import type { AdmissionHook } from './options.js';
import type { RunningApiServer } from './server.js';
import { startApiServer } from './server.js';
import type { WatchSettings } from './watch.js';
import type { ServiceAccountTokens } from '../serviceaccount/tokens.js';

const run = promisify(execFile);

export const TOKEN = 'test-token-0123456789';

export interface TestCluster {
  server: RunningApiServer;
  store: ObjectStore;
  dir: string;
  kubeconfig: string;
  caPem: string;
  auditLines: string[];
  /** `env` adds variables (KUBE_EDITOR for `kubectl edit`). */
  kubectl(args: string[], opts?: { input?: string; token?: string; env?: Record<string, string> }): Promise<{ code: number; stdout: string; stderr: string }>;
  /** fetch-like JSON request with the token (undici would need its own TLS setup; node:https is enough). */
  request(method: string, path: string, opts?: { body?: unknown; contentType?: string; accept?: string; token?: string | null }): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string; json(): unknown }>;
  close(): Promise<void>;
}

function makeCertificate(dir: string): { certPem: string; keyPem: string } {
  // Synchronous is fine: nothing listens yet.
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  return { certPem: readFileSync(cert, 'utf8'), keyPem: readFileSync(key, 'utf8') };
}

export async function startTestCluster(opts: {
  podRuntime?: PodRuntime;
  admission?: AdmissionHook[];
  validatingAdmission?: AdmissionHook[];
  store?: Partial<SqliteStoreOptions>;
  watch?: Partial<WatchSettings>;
  validate?: (t: ResourceType, o: KubeObject, o2: { strict: boolean }) => FieldCause[];
  applyDefaults?: (t: ResourceType, o: KubeObject) => KubeObject;
  /** Service-account tokens the server issues and accepts (TokenRequest, TokenReview, RBAC for them). */
  serviceAccounts?: ServiceAccountTokens;
} = {}): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'apiserver-test-'));
  const tls = makeCertificate(dir);
  const store = openSqliteStore({ path: ':memory:', log: () => {}, ...opts.store });
  const auditLines: string[] = [];
  let nextIp = 1;
  const server = await startApiServer({
    store,
    host: '127.0.0.1',
    port: 0,
    tls,
    token: TOKEN,
    ...(opts.serviceAccounts ? { serviceAccounts: opts.serviceAccounts } : {}),
    clusterName: 'test',
    podRuntime: opts.podRuntime,
    validate: opts.validate ?? validateObject,
    applyDefaults: opts.applyDefaults ?? applyDefaults,
    allocateClusterIP: () => `127.251.0.${nextIp++}`,
    admission: opts.admission,
    validatingAdmission: opts.validatingAdmission,
    log: (line) => auditLines.push(line),
    watch: opts.watch,
  });
  const kubeconfig = join(dir, 'kubeconfig');
  const writeKubeconfig = (path: string, token: string): void =>
    writeFileSync(
      path,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'test', cluster: { server: server.url, 'certificate-authority-data': Buffer.from(tls.certPem).toString('base64') } }],
        users: [{ name: 'admin', user: { token } }],
        contexts: [{ name: 'test', context: { cluster: 'test', user: 'admin', namespace: 'default' } }],
        'current-context': 'test',
      }),
    );
  writeKubeconfig(kubeconfig, TOKEN);
  const { request: httpsRequest } = await import('node:https');

  return {
    server,
    store,
    dir,
    kubeconfig,
    caPem: tls.certPem,
    auditLines,
    async kubectl(args, o = {}) {
      let config = kubeconfig;
      if (o.token !== undefined) {
        config = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
        writeKubeconfig(config, o.token);
      }
      const child = run('/usr/bin/kubectl', ['--kubeconfig', config, '--cache-dir', join(dir, 'cache'), ...args], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...o.env },
        timeout: 20_000,
      });
      if (o.input !== undefined) {
        child.child.stdin?.end(o.input);
      } else {
        child.child.stdin?.end();
      }
      try {
        const { stdout, stderr } = await child;
        return { code: 0, stdout, stderr };
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
      }
    },
    request(method, path, o = {}) {
      return new Promise((resolve, reject) => {
        const body = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
        const headers: Record<string, string> = {};
        if (o.token !== null) headers.Authorization = `Bearer ${o.token ?? TOKEN}`;
        if (body !== undefined) headers['Content-Type'] = o.contentType ?? 'application/json';
        if (o.accept) headers.Accept = o.accept;
        const req = httpsRequest(`${server.url}${path}`, { method, headers, ca: tls.certPem }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(body);
      });
    },
    async close() {
      await server.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type NamespacedKubectl = (args: string[], input?: string) => Promise<{ code: number; stdout: string; stderr: string }>;

/** A test cluster with namespace `sample`, and kubectl bound to it (as the scenario's commands run). */
export async function startSampleCluster(): Promise<{ cluster: TestCluster; k: NamespacedKubectl }> {
  const cluster = await startTestCluster();
  const created = await cluster.kubectl(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: sample\n' });
  if (created.code !== 0) {
    await cluster.close();
    throw new Error(`creating namespace sample failed: ${created.stderr}`);
  }
  return { cluster, k: (args, input) => cluster.kubectl(['-n', 'sample', ...args], { input }) };
}
