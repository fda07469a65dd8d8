// Readiness probes as the kubelet runs them: httpGet, tcpSocket and exec, with Kubernetes' defaults and
// thresholds. The threshold logic is a small pure state machine; running one probe is an I/O function.
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Container, Probe } from './pod-types.js';

export interface ProbeTiming {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

/** Kubernetes' defaults: no delay, every 10 s, 1 s timeout, 1 success, 3 failures. */
export function probeTiming(p: Probe): ProbeTiming {
  return {
    initialDelayMs: (p.initialDelaySeconds ?? 0) * 1000,
    periodMs: Math.max(1, p.periodSeconds ?? 10) * 1000,
    timeoutMs: Math.max(1, p.timeoutSeconds ?? 1) * 1000,
    successThreshold: Math.max(1, p.successThreshold ?? 1),
    failureThreshold: Math.max(1, p.failureThreshold ?? 3),
  };
}

/** Readiness starts as failed (not ready) and flips only after enough consecutive results. */
export class ReadinessState {
  private successes = 0;
  private failures = 0;

  constructor(
    private readonly timing: Pick<ProbeTiming, 'successThreshold' | 'failureThreshold'>,
    public ready = false,
  ) {}

  /** Records one probe result; returns true when `ready` changed. */
  record(ok: boolean): boolean {
    if (ok) {
      this.failures = 0;
      this.successes++;
      if (!this.ready && this.successes >= this.timing.successThreshold) return (this.ready = true);
    } else {
      this.successes = 0;
      this.failures++;
      if (this.ready && this.failures >= this.timing.failureThreshold) {
        this.ready = false;
        return true;
      }
    }
    return false;
  }
}

export interface ProbeTarget {
  /** The IP the container serves on (the probe's default host). */
  host: string;
  container: Container;
  env: Record<string, string>;
  cwd: string;
  /** Wraps an exec probe's command so it runs inside the container's namespaces (pod-dns.ts). */
  inContainer?: (argv: string[]) => string[];
}

export interface ProbeResult {
  ok: boolean;
  /** Why it failed, as `kubectl describe` shows after "Readiness probe failed: ". */
  message: string;
}

function resolvePort(port: number | string, container: Container): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

export function runProbe(probe: Probe, target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  if (probe.httpGet) return httpProbe(probe.httpGet, target, timeoutMs);
  if (probe.tcpSocket) return tcpProbe(probe.tcpSocket, target, timeoutMs);
  if (probe.exec) return execProbe(probe.exec.command ?? [], target, timeoutMs);
  if (probe.grpc !== undefined) return Promise.resolve({ ok: false, message: 'grpc probes are not supported by the local kubelet' });
  return Promise.resolve({ ok: false, message: 'the probe has no handler (httpGet, tcpSocket or exec)' });
}

function httpProbe(get: NonNullable<Probe['httpGet']>, target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const port = resolvePort(get.port, target.container);
  if (port === undefined) return Promise.resolve({ ok: false, message: `port ${JSON.stringify(get.port)} is not a port of container ${target.container.name}` });
  const host = get.host || target.host;
  const https = (get.scheme ?? 'HTTP').toUpperCase() === 'HTTPS';
  const path = get.path ?? '/';
  const url = `${https ? 'https' : 'http'}://${host}:${port}${path}`;
  const headers: Record<string, string> = { 'user-agent': 'kube-probe/1.32', accept: '*/*' };
  for (const h of get.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value;
  return new Promise((resolve) => {
    const req = (https ? httpsRequest : httpRequest)(
      { host, port, path, method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false, agent: false },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        resolve(code >= 200 && code < 400 ? { ok: true, message: '' } : { ok: false, message: `HTTP probe failed with statuscode: ${code}` });
      },
    );
    req.on('timeout', () => {
      req.destroy();
      resolve({ ok: false, message: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
    });
    req.on('error', (err) => resolve({ ok: false, message: `Get "${url}": ${err.message}` }));
    req.end();
  });
}

function tcpProbe(tcp: NonNullable<Probe['tcpSocket']>, target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const port = resolvePort(tcp.port, target.container);
  if (port === undefined) return Promise.resolve({ ok: false, message: `port ${JSON.stringify(tcp.port)} is not a port of container ${target.container.name}` });
  const host = tcp.host || target.host;
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.on('connect', () => {
      socket.destroy();
      resolve({ ok: true, message: '' });
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
    });
    socket.on('error', (err) => resolve({ ok: false, message: `dial tcp ${host}:${port}: ${err.message}` }));
  });
}

function execProbe(command: string[], target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  if (command.length === 0) return Promise.resolve({ ok: false, message: 'exec probe has no command' });
  return new Promise((resolve) => {
    let output = '';
    const argv = target.inContainer ? target.inContainer(command) : command;
    const child = spawn(argv[0], argv.slice(1), { env: target.env, cwd: target.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const timer = setTimeout(() => {
      killTree(child.pid);
      resolve({ ok: false, message: `command ${JSON.stringify(command.join(' '))} timed out` });
    }, timeoutMs);
    const collect = (chunk: Buffer): void => {
      if (output.length < 4096) output += chunk.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, message: `exec ${JSON.stringify(command[0])}: ${err.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ ok: true, message: '' });
      else resolve({ ok: false, message: output.trim() || `command exited with ${code ?? signal}` });
    });
  });
}

function killTree(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
