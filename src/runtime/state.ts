// The state folder of `meshwork up` (default ./.meshwork): who runs the clusters, where they listen.
//   state.json     pid of the process hosting the clusters, ready flag, cluster endpoints
//   kubeconfig     one context per cluster
//   meshwork.log   log of the hosting process
//   clusters/<name>/  store.db, pki/, kubelet/ (pod logs, pids)
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { processRunning } from '../os/proc.js';

export interface ClusterRecord {
  name: string;
  server: string;
  subnetOctet: number;
}

export interface UpState {
  pid: number;
  startedAt: string;
  ready: boolean;
  clusters: ClusterRecord[];
  /** Set when startup failed: the hosting process writes why before it exits. */
  error?: string;
  /**
   * After `ready` (API servers, controllers, kubelets): whether every running proxy is connected to its
   * control plane and has ACKed its config, and while not, what is still pending.
   */
  meshSynced?: boolean;
  meshPending?: string[];
}

export interface StatePaths {
  dir: string;
  stateFile: string;
  kubeconfig: string;
  logFile: string;
  clusterDir(name: string): string;
  /** The multi-cluster ingress edges' Envoy pid records (src/envoy/pid-records.ts). */
  edgePids: string;
  /** The edges' state across runs: their ADS port, and a folder per edge (bootstrap, Envoy's log). */
  edgesDir: string;
}

export const DEFAULT_STATE_DIR = '.meshwork';

export function statePaths(dir: string): StatePaths {
  const abs = resolve(dir);
  return {
    dir: abs,
    stateFile: join(abs, 'state.json'),
    kubeconfig: join(abs, 'kubeconfig'),
    logFile: join(abs, 'meshwork.log'),
    clusterDir: (name) => join(abs, 'clusters', name),
    edgePids: join(abs, 'edge-pids'),
    edgesDir: join(abs, 'edges'),
  };
}

/** The local clusters' kubeconfig: what a command falls back to (k8s/client's localKubeconfig). */
export function localKubeconfig(stateDir: string = DEFAULT_STATE_DIR): string {
  return statePaths(stateDir).kubeconfig;
}

export function readUpState(paths: StatePaths): UpState | undefined {
  if (!existsSync(paths.stateFile)) return undefined;
  try {
    return JSON.parse(readFileSync(paths.stateFile, 'utf8')) as UpState;
  } catch (err) {
    throw new Error(`${paths.stateFile} is not valid JSON (${(err as Error).message}): remove it if no meshwork process uses this folder`);
  }
}

export function writeUpState(paths: StatePaths, state: UpState): void {
  mkdirSync(paths.dir, { recursive: true });
  const tmp = `${paths.stateFile}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  renameSync(tmp, paths.stateFile);
}

/** Whether the hosting process runs: a killed one that nobody has reaped yet (a zombie) does not. */
export function isAlive(pid: number): boolean {
  return processRunning(pid);
}

/** The state of a live hosting process, or undefined when none runs (a stale file from a killed one counts as none). */
export function runningState(paths: StatePaths): UpState | undefined {
  const state = readUpState(paths);
  return state && isAlive(state.pid) ? state : undefined;
}

/**
 * The start of an `up`: the state folder is this process's (refused while another live host holds it),
 * its log, and a not-yet-ready state written for `status` and `down` to find.
 */
export function claimStateDir(stateDir: string): { paths: StatePaths; log: (line: string) => void; state: UpState } {
  const paths = statePaths(stateDir);
  mkdirSync(paths.dir, { recursive: true });
  const other = runningState(paths);
  if (other && other.pid !== process.pid) {
    throw new Error(`meshwork is already running for ${paths.dir} (pid ${other.pid}): use \`meshwork status\`, or \`meshwork down\` first`);
  }
  const log = (line: string) => appendFileSync(paths.logFile, `${new Date().toISOString()} ${line}\n`);
  const state: UpState = { pid: process.pid, startedAt: new Date().toISOString(), ready: false, clusters: [] };
  writeUpState(paths, state);
  return { paths, log, state };
}
