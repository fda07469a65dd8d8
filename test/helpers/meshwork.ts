// Runs the real `meshwork` CLI and the real kubectl against local clusters in a temporary state folder.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PidRecord } from '../../src/local/kubelet/process-registry.js';
import { killOrphans } from '../../src/runtime/down.js';
import { statePaths } from '../../src/runtime/state.js';
import { MESHWORK_BIN, scenarioDir } from './paths.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** The helloworld version each cluster of the scenario runs. */
export const LOCAL_VERSION: Readonly<Record<string, 'v1' | 'v2'>> = { 'cluster-1': 'v1', 'cluster-2': 'v2' };

/** The data plane the e2e suites install: Envoy unless MESHWORK_E2E_DATA_PLANE says meshwork. */
export const E2E_DATA_PLANE = process.env.MESHWORK_E2E_DATA_PLANE ?? 'envoy';

export class MeshworkEnv {
  readonly stateDir: string;
  readonly kubeconfig: string;

  constructor(readonly subnetBase: number) {
    this.stateDir = mkdtempSync(join(tmpdir(), 'meshwork-e2e-'));
    this.kubeconfig = join(this.stateDir, 'kubeconfig');
  }

  /** The CLI with this environment's clusters: `--state-dir` for the commands that manage them, KUBECONFIG for the rest. */
  meshwork(args: string[], timeoutMs = 60_000): Promise<RunResult> {
    const managesClusters = ['up', 'down', 'status'].includes(args[0] ?? '');
    return run(process.execPath, [MESHWORK_BIN, ...args, ...(managesClusters ? ['--state-dir', this.stateDir] : [])], { timeoutMs, env: { KUBECONFIG: this.kubeconfig } });
  }

  up(clusters = 2): Promise<RunResult> {
    return this.meshwork(['up', '-d', '--clusters', String(clusters), '--subnet-base', String(this.subnetBase)], 90_000);
  }

  /** `up` of two clusters, then `meshwork install` into each of `contexts` (with `installArgs`); throws with the output on failure. */
  async upWithControlPlanes(contexts: readonly string[], installArgs: readonly string[] = []): Promise<void> {
    const up = await this.up(2);
    if (up.code !== 0) throw new Error(`meshwork up exited ${up.code}: ${up.stderr}${up.stdout}`);
    for (const ctx of contexts) {
      const install = await this.meshwork(['install', '--context', ctx, '--timeout', '90', '--data-plane', E2E_DATA_PLANE, ...installArgs], 120_000);
      if (install.code !== 0) throw new Error(`meshwork install --context ${ctx} exited ${install.code}: ${install.stderr}${install.stdout}`);
    }
  }

  /**
   * The xDS counters and proxies of the control plane of `context` (its /debug/syncz), and every NACK
   * any of its proxies sent: a NACK is a translate bug, so the e2e suites assert there is none.
   */
  async controlPlaneNacks(context: string): Promise<{ nacks: number; userAgents: string[]; messages: string[] }> {
    const ip = (await this.kubectlOk(context, ['get', 'pods', '-n', 'istio-system', '-l', 'app=istiod', '-o', 'jsonpath={.items[0].status.podIP}'])).trim();
    const res = await fetch(`http://${ip}:15014/debug/syncz`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { counters: { nacks: number } | null; proxies: Array<{ nodeId: string; userAgent: string; types: Record<string, { nack?: { message: string } }> }> };
    const messages = body.proxies.flatMap((p) => Object.entries(p.types).flatMap(([t, s]) => (s.nack ? [`${p.nodeId} ${t}: ${s.nack.message}`] : [])));
    return { nacks: body.counters?.nacks ?? 0, userAgents: body.proxies.map((p) => p.userAgent), messages };
  }

  /** Every sidecar and gateway of both control planes runs E2E_DATA_PLANE, and none ever NACKed. */
  async assertDataPlaneAcceptedEverything(contexts: readonly string[], opts: { proxylessOnly?: boolean } = {}): Promise<void> {
    const agent = E2E_DATA_PLANE === 'envoy' ? /^envoy \d+\.\d+\.\d+$/ : /^meshwork-proxy /;
    for (const context of contexts) {
      const { nacks, userAgents, messages } = await this.controlPlaneNacks(context);
      const proxies = userAgents.filter((a) => !/^grpc/i.test(a));
      if ((proxies.length === 0 && !opts.proxylessOnly) || !proxies.every((a) => agent.test(a))) throw new Error(`${context}: proxies are not all ${E2E_DATA_PLANE}: ${userAgents.join(', ')}`);
      if (nacks !== 0) throw new Error(`${context}: ${nacks} NACKs from the mesh's proxies: ${messages.join('; ') || '(the NACKing proxies have since ACKed a later version)'}`);
    }
  }

  /** The pids of the running edge Envoys of this state folder, as their supervisor records them. */
  edgeEnvoyPids(): number[] {
    const dir = join(this.stateDir, 'edge-pids');
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.pid')).map((f) => Number(f.slice(0, -4))) : [];
  }

  /** The pid of the process hosting the clusters. */
  hostPid(): number {
    return (JSON.parse(readFileSync(join(this.stateDir, 'state.json'), 'utf8')) as { pid: number }).pid;
  }

  /**
   * The process group a pod's container runs in, from the kubelet's pid records of `cluster`
   * (`clusters/<cluster>/kubelet/pids.json`): what a test kills to stand in for a crash or an OOM kill.
   */
  containerProcessGroup(cluster: string, namespace: string, pod: string, container: string): number {
    const file = join(this.stateDir, 'clusters', cluster, 'kubelet', 'pids.json');
    const owner = `${namespace}/${pod}/${container}`;
    const records = JSON.parse(readFileSync(file, 'utf8')) as PidRecord[];
    const record = records.find((r) => r.owner === owner);
    if (!record) throw new Error(`${cluster}: no process of ${owner} in ${file} (have ${records.map((r) => r.owner).join(', ')})`);
    return record.pgid;
  }

  /** Waits until every pod of `selector` in `namespace` is ready in all its `containers` (and none is being deleted). */
  async waitPodsReady(context: string, namespace: string, selector: string, containers: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const out = await this.kubectlOk(context, ['get', 'pods', '-n', namespace, '-l', selector, '-o', 'jsonpath={range .items[*]}{.metadata.deletionTimestamp}{range .status.containerStatuses[*]}{.ready}{","}{end}{"\\n"}{end}']);
      const pods = out.split('\n').filter(Boolean);
      if (pods.length > 0 && pods.every((p) => p === 'true,'.repeat(containers))) return;
      if (Date.now() > deadline) throw new Error(`${context}: pods ${selector} in ${namespace} not ready: ${out}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  kubectl(context: string, args: string[], input?: string): Promise<RunResult> {
    return run('kubectl', ['--context', context, ...args], { env: { KUBECONFIG: this.kubeconfig }, input, timeoutMs: 60_000 });
  }

  /** kubectl that must succeed: returns stdout, throws with stderr otherwise. */
  async kubectlOk(context: string, args: string[], input?: string): Promise<string> {
    const res = await this.kubectl(context, args, input);
    if (res.code !== 0) throw new Error(`kubectl --context ${context} ${args.join(' ')} exited ${res.code}: ${res.stderr}${res.stdout}`);
    return res.stdout;
  }

  /**
   * The scenario's layout in one cluster: `sample` (and `extraNamespaces`) labelled for injection, the
   * helloworld Service, and the helloworld version that cluster runs (v1 on cluster-1, v2 on cluster-2).
   */
  async deployHelloworld(context: string, extraNamespaces: readonly string[] = []): Promise<void> {
    for (const ns of ['sample', ...extraNamespaces]) {
      await this.kubectlOk(context, ['create', 'namespace', ns]);
      await this.kubectlOk(context, ['label', 'namespace', ns, 'istio.io/rev=asm-managed-stable', '--overwrite']);
    }
    const helloworld = join(scenarioDir(), 'helloworld.yaml');
    await this.kubectlOk(context, ['apply', '-n', 'sample', '-f', helloworld, '-l', 'service=helloworld']);
    await this.kubectlOk(context, ['apply', '-n', 'sample', '-f', helloworld, '-l', `version=${LOCAL_VERSION[context] ?? 'v1'}`]);
  }

  /**
   * Stops the clusters and removes the state folder; safe to call twice. Pod processes that outlive a
   * slow or killed `down` are stopped from the kubelets' pid records first (as `down` does without a
   * host): with the folder gone, no later `up` would find them.
   */
  async cleanup(): Promise<void> {
    spawnSync(process.execPath, [MESHWORK_BIN, 'down', '--state-dir', this.stateDir], { timeout: 30_000 });
    await killOrphans(statePaths(this.stateDir), (line) => process.stderr.write(`cleanup: ${line}\n`));
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}
