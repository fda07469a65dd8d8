import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { test } from 'node:test';
import { decodeListener } from '../decode/listener.js';
import type { Listener } from '../model/listener.js';
import { selectFilterChain } from './filter-chain-match.js';
import { inspectClientHello } from './tls-inspector.js';

const TCP_PROXY = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const tcpChain = (cluster: string, match?: Record<string, unknown>) => ({
  ...(match ? { filter_chain_match: match } : {}),
  filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY, stat_prefix: cluster, cluster } }],
});

function listener(chains: unknown[], extra: Record<string, unknown> = {}): Listener {
  const r = decodeListener({ name: 'l', address: { socket_address: { address: '127.0.0.1', port_value: 9000 } }, filter_chains: chains, ...extra });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
  return r.value;
}

const INSPECTOR = { listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } }] };

/** The ClientHello node:tls sends for `servername` (captured by a plain TCP server). */
async function clientHello(servername: string | undefined, ALPNProtocols?: string[]): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const got = new Promise<Buffer>((resolve) => {
    server.once('connection', (s) => {
      let seen = Buffer.alloc(0);
      s.on('data', (c: Buffer) => {
        seen = Buffer.concat([seen, c]);
        if (inspectClientHello(seen).kind !== 'need-more') {
          resolve(seen);
          s.destroy();
        }
      });
    });
  });
  const client = tls.connect({ host: '127.0.0.1', port, ...(servername ? { servername } : {}), ...(ALPNProtocols ? { ALPNProtocols } : {}), rejectUnauthorized: false });
  client.on('error', () => {});
  const bytes = await got;
  client.destroy();
  server.close();
  return bytes;
}

test('tcp_proxy: cluster, weighted_clusters (plain uint32 weights), idle_timeout default 1h and 0s', () => {
  const l = listener([
    { filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: { '@type': TCP_PROXY, stat_prefix: 'vs.ns', weighted_clusters: { clusters: [{ name: 'a', weight: 80 }, { name: 'b', weight: 20 }] }, idle_timeout: { seconds: 0 } } }] },
  ]);
  assert.deepEqual(l.hcms, []);
  const t = l.chains[0]!.terminal;
  assert.ok(t.kind === 'tcp');
  assert.ok(t.tcp.cluster.kind === 'weighted');
  assert.deepEqual(t.tcp.cluster.clusters.map((c) => [c.name, c.weight]), [['a', 80], ['b', 20]]);
  assert.equal(t.tcp.cluster.totalWeight, 100);
  assert.equal(t.tcp.idleTimeoutMs, 0);
  const dflt = listener([tcpChain('c')]).chains[0]!.terminal;
  assert.ok(dflt.kind === 'tcp' && dflt.tcp.idleTimeoutMs === 3_600_000);
});

test('listener decode refuses what would change the chain choice: other match fields, other listener filters, SNI without an inspector', () => {
  const r = decodeListener({ name: 'l', address: { socket_address: { address: '127.0.0.1', port_value: 9000 } }, filter_chains: [tcpChain('a', { prefix_ranges: [{ address_prefix: '10.0.0.0' }] })] });
  assert.ok(!r.ok);
  assert.match(r.error.join('\n'), /filter_chain_match\.prefix_ranges: is not supported/);
  const noInspector = decodeListener({ name: 'l', address: { socket_address: { address: '127.0.0.1', port_value: 9000 } }, filter_chains: [tcpChain('a', { server_names: ['a.example'] })] });
  assert.ok(!noInspector.ok);
  assert.match(noInspector.error.join('\n'), /no envoy\.filters\.listener\.tls_inspector/);
  const other = decodeListener({ name: 'l', address: { socket_address: { address: '127.0.0.1', port_value: 9000 } }, filter_chains: [tcpChain('a')], listener_filters: [{ name: 'envoy.filters.listener.original_dst' }] });
  assert.ok(!other.ok);
  assert.match(other.error.join('\n'), /listener filter 'envoy\.filters\.listener\.original_dst' is not supported/);
});

test('filter chain selection: destination port, exact SNI, longest wildcard, no-name chains, transport protocol, default chain', () => {
  const l = listener([
    tcpChain('exact', { server_names: ['a.example.com'] }),
    tcpChain('wild', { server_names: ['*.example.com'] }),
    tcpChain('deeper', { server_names: ['*.b.example.com'] }),
    tcpChain('tls-any', { transport_protocol: 'tls' }),
    tcpChain('plain'),
  ], INSPECTOR);
  const name = (serverName: string | undefined, transportProtocol: 'tls' | 'raw_buffer' = 'tls') => {
    const c = selectFilterChain(l, { destinationPort: 9000, serverName, transportProtocol, applicationProtocols: [] });
    return c?.terminal.kind === 'tcp' && c.terminal.tcp.cluster.kind === 'cluster' ? c.terminal.tcp.cluster.name : undefined;
  };
  assert.equal(name('a.example.com'), 'exact');
  assert.equal(name('x.example.com'), 'wild');
  assert.equal(name('x.y.example.com'), 'wild');
  assert.equal(name('x.b.example.com'), 'deeper');
  assert.equal(name('example.com'), 'tls-any');
  assert.equal(name('other.test'), 'tls-any');
  assert.equal(name(undefined, 'raw_buffer'), 'plain');
  const ported = listener([tcpChain('p9000', { destination_port: { value: 9000 } }), tcpChain('any')]);
  const clusterOf = (c: ReturnType<typeof selectFilterChain>) => (c?.terminal.kind === 'tcp' && c.terminal.tcp.cluster.kind === 'cluster' ? c.terminal.tcp.cluster.name : undefined);
  assert.equal(clusterOf(selectFilterChain(ported, { destinationPort: 9000, serverName: undefined, transportProtocol: 'raw_buffer', applicationProtocols: [] })), 'p9000');
  assert.equal(clusterOf(selectFilterChain(ported, { destinationPort: 9001, serverName: undefined, transportProtocol: 'raw_buffer', applicationProtocols: [] })), 'any');
  const only = listener([tcpChain('a', { server_names: ['a.test'] })], INSPECTOR);
  assert.equal(selectFilterChain(only, { destinationPort: 9000, serverName: 'b.test', transportProtocol: 'tls', applicationProtocols: [] }), undefined);
  const withDefault = listener([tcpChain('a', { server_names: ['a.test'] })], { ...INSPECTOR, default_filter_chain: tcpChain('fallback') });
  assert.equal(clusterOf(selectFilterChain(withDefault, { destinationPort: 9000, serverName: 'b.test', transportProtocol: 'tls', applicationProtocols: [] })), 'fallback');
});

test('filter chain selection by application protocols: a chain naming one the ClientHello offers, else chains naming none, never back to a less specific transport (Istio\'s PERMISSIVE inbound)', () => {
  const l = listener([tcpChain('mesh', { transport_protocol: 'tls', application_protocols: ['istio-peer-exchange', 'istio'] }), tcpChain('plain')], INSPECTOR);
  const pick = (transportProtocol: 'tls' | 'raw_buffer', applicationProtocols: string[]) => {
    const c = selectFilterChain(l, { destinationPort: 9000, serverName: undefined, transportProtocol, applicationProtocols });
    return c?.terminal.kind === 'tcp' && c.terminal.tcp.cluster.kind === 'cluster' ? c.terminal.tcp.cluster.name : undefined;
  };
  assert.equal(pick('tls', ['istio', 'h2']), 'mesh');
  // As Envoy: the `tls` branch was taken and is not left again, so TLS from outside the mesh matches no chain.
  assert.equal(pick('tls', ['h2', 'http/1.1']), undefined);
  assert.equal(pick('raw_buffer', []), 'plain');
});

test('tls_inspector: the SNI of a real ClientHello (node:tls), none without servername, plain bytes are not TLS, partial is need-more', async () => {
  const hello = await clientHello('Svc.Example.COM');
  assert.deepEqual(inspectClientHello(hello), { kind: 'tls', serverName: 'svc.example.com', alpn: [] });
  assert.deepEqual(inspectClientHello(await clientHello('a.test', ['istio-peer-exchange', 'h2'])), { kind: 'tls', serverName: 'a.test', alpn: ['istio-peer-exchange', 'h2'] });
  for (const cut of [1, 5, 40, hello.length - 1]) assert.deepEqual(inspectClientHello(hello.subarray(0, cut)), { kind: 'need-more' });
  const anonymous = await clientHello(undefined);
  assert.deepEqual(inspectClientHello(anonymous), { kind: 'tls', serverName: undefined, alpn: [] });
  assert.deepEqual(inspectClientHello(Buffer.from('GET / HTTP/1.1\r\n')), { kind: 'not-tls' });
  assert.deepEqual(inspectClientHello(Buffer.from('PRI * HTTP/2.0')), { kind: 'not-tls' });
  const corrupt = Buffer.from(hello);
  corrupt.writeUInt16BE(0xffff, 5 + 4 + 2 + 32 + 1 + corrupt[5 + 4 + 2 + 32]!); // cipher_suites length beyond the message
  assert.equal(inspectClientHello(corrupt).kind, 'invalid');
});
