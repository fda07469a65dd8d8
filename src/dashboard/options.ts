// `meshwork dashboard`'s flags, checked: the port and address it listens on, the telemetry window and the
// refresh period (Go durations), the Prometheus URL. Each bad value is named with the fix. Pure.
//
// Exports: DashboardFlags, DashboardOptions, parseDashboardFlags, DEFAULT_DASHBOARD_PORT.
import { isIP } from 'node:net';
import { parseGoDuration } from '../config/duration.js';

/** Kiali's port. */
export const DEFAULT_DASHBOARD_PORT = 20001;

export interface DashboardFlags {
  port?: string;
  address?: string;
  window?: string;
  refresh?: string;
  prometheus?: string;
  context?: string[];
  kubeconfig?: string;
  stateDir?: string;
}

export interface DashboardOptions {
  port: number;
  address: string;
  windowMs: number;
  refreshMs: number;
  prometheus?: string;
  contexts: string[];
  kubeconfig?: string;
  stateDir?: string;
  /** Set when the address is not a loopback one: the page is then reachable from elsewhere, unauthenticated. */
  warning?: string;
}

function duration(text: string, flag: string, minMs: number, maxMs: number): number {
  const ms = parseGoDuration(text, flag);
  if (ms < minMs || ms > maxMs) throw new Error(`${flag} ${text}: must be from ${minMs / 1000}s to ${maxMs / 1000}s`);
  return ms;
}

const isLoopback = (address: string): boolean => address === 'localhost' || /^127\./.test(address) || address === '::1';

export function parseDashboardFlags(flags: DashboardFlags): DashboardOptions {
  const portText = flags.port ?? String(DEFAULT_DASHBOARD_PORT);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port "${portText}": expected a TCP port from 1 to 65535 (0 picks a free one), e.g. --port ${DEFAULT_DASHBOARD_PORT}`);
  }
  const address = flags.address ?? '127.0.0.1';
  if (address !== 'localhost' && isIP(address) === 0) throw new Error(`--address "${address}": expected an IP address to listen on, e.g. 127.0.0.1`);
  const windowMs = duration(flags.window ?? '30s', '--window', 2_000, 3_600_000);
  const refreshMs = duration(flags.refresh ?? '2s', '--refresh', 500, 300_000);
  if (refreshMs * 2 > windowMs) throw new Error(`--window ${flags.window ?? '30s'} must hold at least two refreshes (--refresh ${flags.refresh ?? '2s'}): rates need two scrapes`);
  let prometheus: string | undefined;
  if (flags.prometheus !== undefined) {
    let url: URL;
    try {
      url = new URL(flags.prometheus);
    } catch {
      throw new Error(`--prometheus "${flags.prometheus}": expected Prometheus' base URL, e.g. http://127.0.0.1:9090`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--prometheus ${flags.prometheus}: only http:// and https:// URLs`);
    prometheus = flags.prometheus.replace(/\/+$/, '');
  }
  return {
    port,
    address,
    windowMs,
    refreshMs,
    ...(prometheus ? { prometheus } : {}),
    contexts: flags.context ?? [],
    ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
    ...(flags.stateDir ? { stateDir: flags.stateDir } : {}),
    ...(isLoopback(address) ? {} : { warning: `--address ${address} is not a loopback address: anyone who reaches it sees the mesh's topology and config, without authentication` }),
  };
}
