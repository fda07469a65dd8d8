// Envoy's admin API, as the agent and the CLI read it: readiness, draining, config_dump, stats.
export interface AdminAddress {
  host: string;
  port: number;
}

function url(admin: AdminAddress, path: string): string {
  return `http://${admin.host}:${admin.port}${path}`;
}

async function call(admin: AdminAddress, path: string, init: RequestInit = {}, timeoutMs = 2000): Promise<Response> {
  return fetch(url(admin, path), { ...init, signal: AbortSignal.timeout(timeoutMs) });
}

/**
 * Ready as Istio's agent judges it: Envoy's server is LIVE (its initial CDS and LDS fetches, with
 * everything they refer to, have arrived: the bootstrap sets no initial fetch timeout) and it has
 * accepted at least one LDS and one CDS update. Never throws: an Envoy that does not answer is not ready.
 */
export async function envoyReady(admin: AdminAddress): Promise<{ ready: boolean; reason: string }> {
  try {
    const live = await call(admin, '/ready');
    const state = (await live.text()).trim();
    if (live.status !== 200) return { ready: false, reason: `envoy server state ${state || live.status}` };
    const stats = await call(admin, '/stats?usedonly&filter=^(cluster_manager\\.cds|listener_manager\\.lds)\\.update_success$');
    const values = new Map([...(await stats.text()).matchAll(/^(\S+): (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
    for (const name of ['cluster_manager.cds.update_success', 'listener_manager.lds.update_success']) {
      if (!((values.get(name) ?? 0) > 0)) return { ready: false, reason: `envoy has no ${name.split('.')[1]!.toUpperCase()} update yet` };
    }
    return { ready: true, reason: 'ready' };
  } catch (err) {
    return { ready: false, reason: `envoy admin at ${admin.host}:${admin.port} does not answer (${(err as Error).message})` };
  }
}

/** Starts Envoy's graceful drain of every listener (Istio's agent does this on SIGTERM). */
export async function drainListeners(admin: AdminAddress): Promise<void> {
  const res = await call(admin, '/drain_listeners?graceful', { method: 'POST' });
  if (res.status !== 200) throw new Error(`envoy /drain_listeners answered ${res.status}`);
}

export async function adminText(admin: AdminAddress, path: string, timeoutMs = 5000): Promise<string> {
  const res = await call(admin, path, {}, timeoutMs);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`envoy admin ${path} answered ${res.status}: ${text.trim().slice(0, 200)}`);
  return text;
}

export async function adminJson(admin: AdminAddress, path: string): Promise<unknown> {
  return JSON.parse(await adminText(admin, path));
}
