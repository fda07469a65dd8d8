// The admin listener (Envoy's port 15000): /config_dump, /ready, /stats/prometheus, /clusters.

import * as http from 'node:http';
import type { ClusterManager } from '../cluster/manager.js';
import { isEjected } from '../cluster/outlier.js';
import type { Clock } from '../../clock.js';
import type { ConfigStore } from '../config/store.js';
import { errorText, type Logger } from '../log.js';
import type { LocalSecretSource } from '../../security/secrets.js';
import { configDump, type XdsErrors } from './config-dump.js';
import { LocalSecretsDump } from './secrets-dump.js';
import type { ProxyStats } from './stats.js';

export interface AdminDeps {
  store: ConfigStore;
  clusters: ClusterManager;
  stats: ProxyStats;
  clock: Clock;
  log: Logger;
  xdsErrors: () => XdsErrors;
  /** The agent's certificates, dumped (keys redacted) as Envoy dumps its SDS secrets. */
  localSecrets?: LocalSecretSource;
}

function clustersText(deps: AdminDeps): string {
  const now = deps.clock.now();
  const lines: string[] = [];
  for (const [name, c] of deps.clusters.all()) {
    lines.push(`${name}::default_priority::max_connections::1024`);
    for (const h of c.hosts) {
      const flags = [h.endpoint.health === 'HEALTHY' || h.endpoint.health === 'UNKNOWN' ? 'healthy' : `/eds_${h.endpoint.health.toLowerCase()}`];
      if (isEjected(h, now)) flags.push('/failed_outlier_check');
      const p = `${name}::${h.key}`;
      lines.push(`${p}::rq_active::${h.active}`, `${p}::rq_total::${h.total}`, `${p}::rq_error::${h.errors}`, `${p}::weight::${h.endpoint.weight}`, `${p}::priority::${h.endpoint.priority}`, `${p}::zone::${h.endpoint.locality.zone}`, `${p}::health_flags::${flags.join('')}`);
    }
  }
  return lines.join('\n') + '\n';
}

function clustersJson(deps: AdminDeps): unknown {
  const now = deps.clock.now();
  return {
    cluster_statuses: [...deps.clusters.all()].map(([name, c]) => ({
      name,
      host_statuses: c.hosts.map((h) => ({
        address: { socket_address: { address: h.endpoint.host, port_value: h.endpoint.port } },
        stats: [
          { name: 'rq_active', value: String(h.active) },
          { name: 'rq_total', value: String(h.total) },
          { name: 'rq_error', value: String(h.errors) },
        ],
        health_status: { eds_health_status: h.endpoint.health, failed_outlier_check: isEjected(h, now) },
        weight: h.endpoint.weight,
        priority: h.endpoint.priority,
        locality: { region: h.endpoint.locality.region, zone: h.endpoint.locality.zone, sub_zone: h.endpoint.locality.subZone },
      })),
    })),
  };
}

export class AdminServer {
  private readonly server: http.Server;
  private readonly secrets: LocalSecretsDump | undefined;

  constructor(private readonly deps: AdminDeps) {
    this.secrets = deps.localSecrets ? new LocalSecretsDump(deps.localSecrets) : undefined;
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        deps.stats.internalError('admin');
        deps.log('error', `admin ${req.url}: ${errorText(e, true)}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`internal error: ${errorText(e)}\n`);
      });
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, server: 'meshwork' });
      res.end(body);
    };
    switch (url.pathname) {
      case '/config_dump':
        return send(200, 'application/json', JSON.stringify(configDump(this.deps.store, this.deps.xdsErrors(), this.secrets?.dump()), null, 2));
      case '/ready':
        return this.deps.store.ready() ? send(200, 'text/plain', 'LIVE\n') : send(503, 'text/plain', 'PRE_INITIALIZING\n');
      case '/stats/prometheus':
        return send(200, this.deps.stats.registry.contentType, await this.deps.stats.text());
      case '/clusters':
        return url.searchParams.get('format') === 'json' ? send(200, 'application/json', JSON.stringify(clustersJson(this.deps), null, 2)) : send(200, 'text/plain', clustersText(this.deps));
      case '/':
        return send(200, 'text/plain', 'meshwork proxy admin: /config_dump /ready /stats/prometheus /clusters\n');
      default:
        return send(404, 'text/plain', `unknown admin path ${url.pathname}\n`);
    }
  }

  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port }, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        resolve({ host, port: typeof addr === 'object' && addr ? addr.port : port });
      });
    });
  }

  close(): Promise<void> {
    this.secrets?.close();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
