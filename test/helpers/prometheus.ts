// Runs Debian's Prometheus (/usr/bin/prometheus; `.ci/run` installs the `prometheus` package) on a loopback
// address with a throw-away TSDB, for tests: wait until ready, query over the HTTP API, stop by PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from './until.js';

export const PROMETHEUS_BIN = process.env.MESHWORK_PROMETHEUS ?? '/usr/bin/prometheus';

/** One sample of an instant vector. */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PromTarget {
  labels: Record<string, string>;
  scrapePool: string;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
}

/**
 * Whether this Prometheus build has Kubernetes discovery (upstream builds do; Debian's does not: its
 * config parser does not know `kubernetes_sd_configs`). Asked of promtool beside the binary.
 */
export function hasKubernetesDiscovery(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-promtool-'));
  try {
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, 'scrape_configs:\n- job_name: probe\n  kubernetes_sd_configs: [{role: pod}]\n');
    const promtool = join(PROMETHEUS_BIN, '..', 'promtool');
    const check = spawnSync(promtool, ['check', 'config', '--syntax-only', config], { encoding: 'utf8', timeout: 10_000 });
    if (check.error) throw new Error(`${promtool}: ${check.error.message}`);
    return check.status === 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export class PrometheusProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    private readonly dir: string,
    private readonly logChunks: Buffer[],
  ) {}

  /**
   * Starts Prometheus with `configYaml` on `host` (a loopback address of the suite's octets) and waits
   * until /-/ready answers 200 (at most `readyTimeoutMs`). The TSDB and the log live in a temp folder.
   */
  static async start(opts: { configYaml: string; host: string; port?: number; readyTimeoutMs?: number }): Promise<PrometheusProcess> {
    if (!existsSync(PROMETHEUS_BIN)) throw new Error(`${PROMETHEUS_BIN} not found: install Debian's prometheus package (apt-get install -y prometheus), or set MESHWORK_PROMETHEUS`);
    const dir = mkdtempSync(join(tmpdir(), 'meshwork-prometheus-'));
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, opts.configYaml);
    const address = `${opts.host}:${opts.port ?? 9090}`;
    const child = spawn(
      PROMETHEUS_BIN,
      [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=${address}`, '--storage.tsdb.retention.time=1h', '--log.level=info'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const logChunks: Buffer[] = [];
    child.stderr?.on('data', (d: Buffer) => logChunks.push(d));
    const prometheus = new PrometheusProcess(child, `http://${address}`, dir, logChunks);
    try {
      await until(`Prometheus ready on ${address}`, opts.readyTimeoutMs ?? 20_000, async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${Buffer.concat(logChunks).toString().slice(-2000)}`);
        const res = await fetch(`${prometheus.url}/-/ready`, { signal: AbortSignal.timeout(2000) });
        return res.status === 200 ? true : undefined;
      });
    } catch (err) {
      await prometheus.stop();
      throw err;
    }
    return prometheus;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** An instant query (/api/v1/query); throws with Prometheus' error on a bad query. */
  async query(promql: string): Promise<PromSample[]> {
    const res = await fetch(`${this.url}/api/v1/query?${new URLSearchParams({ query: promql })}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: PromSample[] } };
    if (body.status !== 'success') throw new Error(`query ${promql}: ${body.error ?? res.status}`);
    if (body.data?.resultType !== 'vector') throw new Error(`query ${promql}: expected a vector, got ${body.data?.resultType}`);
    return body.data.result;
  }

  /** The active targets (/api/v1/targets). */
  async targets(): Promise<PromTarget[]> {
    const res = await fetch(`${this.url}/api/v1/targets?state=active`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { data: { activeTargets: PromTarget[] } };
    return body.data.activeTargets;
  }

  /** What Prometheus logged so far (for failure messages). */
  log(): string {
    return Buffer.concat(this.logChunks).toString();
  }

  /** SIGTERM by PID, SIGKILL after 5 s; then the temp folder goes. */
  async stop(): Promise<void> {
    const pid = this.child.pid;
    if (pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (this.child.exitCode === null) process.kill(pid, 'SIGKILL');
      }, 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
