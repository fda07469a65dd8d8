// `meshwork status`: which clusters run, and whether their API servers answer.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { parse } from 'yaml';
import { isAlive, readUpState, statePaths } from './state.js';

export interface ClusterStatus {
  name: string;
  server: string;
  status: 'Ready' | 'NotReady' | 'Stopped';
  detail?: string;
}

export interface StatusReport {
  stateDir: string;
  pid?: number;
  running: boolean;
  clusters: ClusterStatus[];
}

interface KubeconfigFile {
  clusters?: Array<{ name: string; cluster: { server: string; 'certificate-authority-data'?: string } }>;
  users?: Array<{ name: string; user: { token?: string } }>;
}

export async function collectStatus(stateDir: string): Promise<StatusReport> {
  const paths = statePaths(stateDir);
  const state = readUpState(paths);
  if (!state) return { stateDir: paths.dir, running: false, clusters: [] };
  const running = state.pid > 0 && isAlive(state.pid);
  let kubeconfig: KubeconfigFile = {};
  try {
    kubeconfig = parse(readFileSync(paths.kubeconfig, 'utf8')) as KubeconfigFile;
  } catch (err) {
    if (running) throw new Error(`cannot read ${paths.kubeconfig}: ${(err as Error).message}`);
  }
  const clusters = await Promise.all(
    state.clusters.map(async (c): Promise<ClusterStatus> => {
      if (!running) return { name: c.name, server: c.server, status: 'Stopped' };
      const entry = kubeconfig.clusters?.find((k) => k.name === c.name)?.cluster;
      const token = kubeconfig.users?.find((u) => u.name === c.name)?.user.token;
      const ca = entry?.['certificate-authority-data'] ? Buffer.from(entry['certificate-authority-data'], 'base64') : undefined;
      const probe = await getReadyz(c.server, ca, token);
      return { name: c.name, server: c.server, status: probe.ok ? 'Ready' : 'NotReady', ...(probe.ok ? {} : { detail: probe.detail }) };
    }),
  );
  return { stateDir: paths.dir, pid: running ? state.pid : undefined, running, clusters };
}

function getReadyz(server: string, ca: Buffer | undefined, token: string | undefined): Promise<{ ok: boolean; detail?: string }> {
  return new Promise((resolve) => {
    const req = request(
      new URL('/readyz', server),
      { ca, headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: 2000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200 ? { ok: true } : { ok: false, detail: `HTTP ${res.statusCode}` }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out after 2 s')));
    req.on('error', (err) => resolve({ ok: false, detail: err.message }));
    req.end();
  });
}
