// A real embedded mesh for the benchmarks: two local clusters (`meshwork up -d`), the control plane
// installed in each and joined with create-mesh, then (by default) the scenario's helloworld (v1 in
// cluster-1, v2 in cluster-2) and sleep in both, with sidecars. `down` stops it all.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { scenarioDir } from '../../test/helpers/paths.js';

/** The CLI beside this file (compiled or source; MESHWORK_CLI overrides it, e.g. dist/src/cli/main.js). */
const CLI = process.env.MESHWORK_CLI ?? fileURLToPath(new URL('../../src/cli/main' + extname(fileURLToPath(import.meta.url)), import.meta.url));
const CLI_ARGS = process.env.MESHWORK_CLI ? [] : process.execArgv;

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env, timeout: timeoutMs, maxBuffer: 16 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')} failed: ${err.message}\n${stderr}${stdout}`));
      else resolve(stdout);
    });
  });
}

export interface BenchMesh {
  stateDir: string;
  kubeconfig: string;
  contexts: string[];
  meshwork(...args: string[]): Promise<string>;
  kubectl(context: string, ...args: string[]): Promise<string>;
  /** Pod IPs of the Running pods matching `selector` in `namespace`. */
  podIPs(context: string, namespace: string, selector: string): Promise<string[]>;
  down(): Promise<void>;
}

export interface MeshOptions {
  /** More arguments for `install` in every cluster, e.g. ['--data-plane', 'meshwork']. */
  installArgs?: readonly string[];
  /** Deploys the workloads once the mesh is joined (namespaces included); default: the scenario's samples, waited for until Ready. */
  workloads?: (mesh: BenchMesh) => Promise<void>;
}

export async function startMesh(subnetBase: number, say: (line: string) => void, opts: MeshOptions = {}): Promise<BenchMesh> {
  const stateDir = mkdtempSync(join(tmpdir(), 'meshwork-bench-mesh-'));
  const kubeconfig = join(stateDir, 'kubeconfig');
  const env = { ...process.env, KUBECONFIG: kubeconfig };
  const contexts = ['cluster-1', 'cluster-2'];
  const meshwork = (...args: string[]): Promise<string> => run(process.execPath, [...CLI_ARGS, CLI, ...args], env, 240_000);
  const kubectl = (context: string, ...args: string[]): Promise<string> => run('kubectl', ['--context', context, ...args], env, 60_000);
  let upStarted = false;
  const mesh: BenchMesh = {
    stateDir,
    kubeconfig,
    contexts,
    meshwork,
    kubectl,
    async podIPs(context, namespace, selector) {
      const out = await kubectl(context, 'get', 'pods', '-n', namespace, '-l', selector, '-o', 'jsonpath={range .items[?(@.status.phase=="Running")]}{.status.podIP}{" "}{end}');
      return out.trim().split(/\s+/).filter(Boolean);
    },
    async down() {
      try {
        if (upStarted) await run(process.execPath, [...CLI_ARGS, CLI, 'down', '--state-dir', stateDir], env, 120_000);
      } finally {
        rmSync(stateDir, { recursive: true, force: true });
      }
    },
  };
  try {
    say(`mesh: up -d (2 clusters, subnet base ${subnetBase}) in ${stateDir}`);
    upStarted = true;
    await meshwork('up', '-d', '--clusters', '2', '--state-dir', stateDir, '--subnet-base', String(subnetBase), '--timeout', '120');
    for (const ctx of contexts) {
      say(`mesh: install --context ${ctx} ${(opts.installArgs ?? []).join(' ')}`);
      await meshwork('install', '--context', ctx, '--kubeconfig', kubeconfig, ...(opts.installArgs ?? []));
    }
    say('mesh: create-mesh');
    await meshwork('create-mesh', ...contexts, '--kubeconfig', kubeconfig);
    if (opts.workloads) {
      await opts.workloads(mesh);
      return mesh;
    }
    const dir = scenarioDir();
    for (const [ctx, version] of [['cluster-1', 'v1'], ['cluster-2', 'v2']] as const) {
      await kubectl(ctx, 'create', 'namespace', 'sample');
      await kubectl(ctx, 'label', 'namespace', 'sample', 'istio.io/rev=asm-managed-stable');
      await kubectl(ctx, 'apply', '-n', 'sample', '-f', join(dir, 'helloworld.yaml'), '-l', 'service=helloworld');
      await kubectl(ctx, 'apply', '-n', 'sample', '-f', join(dir, 'helloworld.yaml'), '-l', `version=${version}`);
      await kubectl(ctx, 'apply', '-n', 'sample', '-f', join(dir, 'sleep.yaml'));
    }
    say('mesh: waiting for helloworld and sleep (with sidecars) to be Ready');
    for (const ctx of contexts) await waitSamplePodsReady(mesh, ctx);
    return mesh;
  } catch (err) {
    await mesh.down().catch((e: unknown) => say(`mesh: down after a failed start failed too: ${(e as Error).message}`));
    throw err;
  }
}

async function waitSamplePodsReady(mesh: BenchMesh, ctx: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    last = await mesh.kubectl(ctx, 'get', 'pods', '-n', 'sample', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}/{range .spec.containers[*]}{.name},{end} {end}');
    const pods = last.trim().split(/\s+/).filter(Boolean);
    if (pods.length === 2 && pods.every((p) => p.includes('=True/') && p.includes('istio-proxy'))) return;
    if (Date.now() > deadline) throw new Error(`${ctx}: sample pods not Ready with sidecars after ${timeoutMs / 1000} s: ${last}`);
    await sleep(250);
  }
}

/** The app ("shadow") IP of a pod with a sidecar: third octet + 128 (see notes on sidecars). */
export function appIpOf(podIp: string): string {
  const parts = podIp.split('.').map(Number);
  if (parts.length !== 4 || parts[2] >= 128) throw new Error(`not a pod IP of a local cluster: ${podIp}`);
  return `${parts[0]}.${parts[1]}.${parts[2] + 128}.${parts[3]}`;
}
