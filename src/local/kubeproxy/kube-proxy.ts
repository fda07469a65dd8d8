// kube-proxy for a local cluster: every Service's ClusterIP:port is a real TCP listener on loopback
// (127.<s+1>.x.y), and each accepted connection is piped to a ready endpoint of the service, round
// robin, as kube-proxy's userspace mode did. Listeners follow the Services it is given; endpoints
// follow the EndpointSlices, so a removed endpoint takes no new connection. It runs as a pod of its
// own (apps/kube-proxy.ts watches the API server and calls update()), so ClusterIPs keep working
// while the process hosting the API server is down.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { KubeObject } from '../../k8s/object.js';
import { readyBackends, serviceInfo, SERVICE_NAME_LABEL, type ServiceInfo } from './endpoints.js';

export interface KubeProxyOptions {
  log: (line: string) => void;
  /** How long a connection attempt to one endpoint may take before the next is tried. */
  connectTimeoutMs?: number;
}

export interface KubeProxyStats {
  accepted: number;
  /** Connections closed at once because the service had no ready endpoint. */
  rejectedNoEndpoints: number;
  /** Endpoint connection attempts that failed (another endpoint is tried, if any). */
  backendErrors: number;
  listenErrors: number;
}

export interface KubeProxy {
  /** The cluster's Services and EndpointSlices as they are now (the whole lists). */
  update(services: readonly KubeObject[], slices: readonly KubeObject[]): void;
  /** Resolves when every listener the current Services ask for is open (or has failed and been logged). */
  settled(): Promise<void>;
  /** `clusterIP:port` of every open listener. */
  listening(): string[];
  readonly stats: KubeProxyStats;
  stop(): Promise<void>;
}

interface Listener {
  key: string;
  service: string;
  portName: string;
  server: Server;
  opened: Promise<void>;
  next: number;
}

function serviceKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function startKubeProxy(opts: KubeProxyOptions): KubeProxy {
  const connectTimeoutMs = opts.connectTimeoutMs ?? 3000;
  const stats: KubeProxyStats = { accepted: 0, rejectedNoEndpoints: 0, backendErrors: 0, listenErrors: 0 };
  const services = new Map<string, ServiceInfo>();
  /** Slices by `namespace/service`. */
  let slices = new Map<string, KubeObject[]>();
  const listeners = new Map<string, Listener>();
  const sockets = new Set<Socket>();
  let stopped = false;

  const backendsOf = (service: string, portName: string): string[] => readyBackends(slices.get(service) ?? [], portName);

  const forward = (listener: Listener, client: Socket): void => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', (err) => opts.log(`kube-proxy ${listener.key} (${listener.service}): client connection: ${err.message}`));
    stats.accepted++;
    const backends = backendsOf(listener.service, listener.portName);
    if (backends.length === 0) {
      // kube-proxy REJECTs traffic to a service without endpoints: the client sees a reset at once.
      stats.rejectedNoEndpoints++;
      client.resetAndDestroy();
      return;
    }
    client.pause();
    const start = listener.next++ % backends.length;
    const attempt = (tried: number): void => {
      if (tried >= backends.length || client.destroyed) {
        client.resetAndDestroy();
        return;
      }
      const [host, port] = splitHostPort(backends[(start + tried) % backends.length]!);
      const upstream = connect({ host, port });
      upstream.setTimeout(connectTimeoutMs, () => upstream.destroy(new Error(`connect timed out after ${connectTimeoutMs} ms`)));
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        upstream.setTimeout(0);
        sockets.add(upstream);
        upstream.on('close', () => sockets.delete(upstream));
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      upstream.on('error', (err) => {
        if (connected) {
          opts.log(`kube-proxy ${listener.key} -> ${host}:${port}: ${err.message}`);
          client.destroy();
          return;
        }
        stats.backendErrors++;
        opts.log(`kube-proxy ${listener.key} (${listener.service}): endpoint ${host}:${port} refused: ${err.message}`);
        attempt(tried + 1);
      });
    };
    attempt(0);
  };

  const open = (key: string, ip: string, port: number, service: string, portName: string): void => {
    const server = createServer({ pauseOnConnect: false });
    const listener: Listener = { key, service, portName, server, opened: Promise.resolve(), next: 0 };
    server.on('connection', (socket) => forward(listener, socket));
    listener.opened = new Promise<void>((resolve) => {
      server.once('error', (err) => {
        stats.listenErrors++;
        opts.log(`kube-proxy: cannot listen on ${key} for service ${service}: ${err.message}`);
        if (listeners.get(key) === listener) listeners.delete(key);
        resolve();
      });
      server.listen({ host: ip, port, exclusive: true }, () => resolve());
    });
    listeners.set(key, listener);
  };

  const reconcile = (): void => {
    if (stopped) return;
    const desired = new Map<string, { ip: string; port: number; service: string; portName: string }>();
    for (const [svcKey, info] of services) {
      if (!info.clusterIP) continue;
      for (const p of info.ports) {
        if (p.protocol !== 'TCP') continue;
        desired.set(`${info.clusterIP}:${p.port}`, { ip: info.clusterIP, port: p.port, service: svcKey, portName: p.name });
      }
    }
    for (const [key, listener] of listeners) {
      const want = desired.get(key);
      if (want && want.service === listener.service) {
        listener.portName = want.portName;
        continue;
      }
      listeners.delete(key);
      listener.server.close();
    }
    for (const [key, want] of desired) {
      if (!listeners.has(key)) open(key, want.ip, want.port, want.service, want.portName);
    }
  };

  const update = (serviceList: readonly KubeObject[], sliceList: readonly KubeObject[]): void => {
    services.clear();
    for (const svc of serviceList) services.set(serviceKey(svc.metadata.namespace ?? '', svc.metadata.name ?? ''), serviceInfo(svc));
    const bySvc = new Map<string, KubeObject[]>();
    for (const slice of sliceList) {
      const owner = slice.metadata.labels?.[SERVICE_NAME_LABEL];
      if (!owner) continue;
      const key = serviceKey(slice.metadata.namespace ?? '', owner);
      bySvc.set(key, [...(bySvc.get(key) ?? []), slice]);
    }
    slices = bySvc;
    reconcile();
  };

  return {
    stats,
    update,
    async settled() {
      await Promise.all([...listeners.values()].map((l) => l.opened));
    },
    listening() {
      return [...listeners.keys()].sort();
    },
    async stop() {
      stopped = true;
      const closing = [...listeners.values()].map((l) => new Promise<void>((resolve) => l.server.close(() => resolve())));
      listeners.clear();
      for (const s of sockets) s.destroy();
      await Promise.all(closing);
    },
  };
}

function splitHostPort(hostPort: string): [string, number] {
  const colon = hostPort.lastIndexOf(':');
  return [hostPort.slice(0, colon), Number(hostPort.slice(colon + 1))];
}
