// The SDS server's protocol with a gRPC client on its Unix socket: a secret asked for before it exists
// is sent once it does, versions change with every rotation, an ACK gets no answer, a NACK is logged,
// and a change of names is answered at once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { adsServiceDefinition, TYPE_URLS, unpackAny, type DiscoveryRequest, type DiscoveryResponse } from '../xds/protos.js';
import type { LocalSecretSource, TlsSecret } from '../security/secrets.js';
import { startSdsServer, type RunningSdsServer } from './sds-server.js';

/** A LocalSecretSource holding what the test puts in it. */
class Secrets implements LocalSecretSource {
  private readonly values = new Map<string, TlsSecret>();
  private readonly listeners = new Set<(name: string) => void>();
  set(name: string, secret: TlsSecret): void {
    this.values.set(name, secret);
    for (const l of this.listeners) l(name);
  }
  current(name: string): TlsSecret | undefined {
    return this.values.get(name);
  }
  onChange(listener: (name: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

describe('the SDS server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sds-'));
  const secrets = new Secrets();
  const lines: string[] = [];
  let server: RunningSdsServer;
  let client: grpc.Client;

  before(async () => {
    secrets.set('ROOTCA', { trustedCaPem: 'root-1' });
    server = await startSdsServer({ socketPath: join(dir, 'SDS'), secrets, log: (l) => lines.push(l) });
    client = new grpc.Client(`unix:${server.socketPath}`, grpc.credentials.createInsecure());
  });
  after(async () => {
    client?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers, pushes rotations, and takes ACKs and NACKs as Envoy sends them', async () => {
    const ads = adsServiceDefinition().StreamAggregatedResources;
    const stream = client.makeBidiStreamRequest('/envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets', ads.requestSerialize, ads.responseDeserialize);
    const received: DiscoveryResponse[] = [];
    const waiters: Array<() => void> = [];
    stream.on('data', (res: DiscoveryResponse) => {
      received.push(res);
      waiters.shift()?.();
    });
    const next = async (): Promise<DiscoveryResponse> => {
      if (received.length === 0) await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no SDS response in 3 s')), 3000);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return received.shift()!;
    };
    const names = (res: DiscoveryResponse) => res.resources.map((r) => unpackAny(r).message as { name: string; tls_certificate?: { certificate_chain: { inline_bytes: Uint8Array } } });
    const send = (req: Partial<DiscoveryRequest>) => stream.write({ node: { id: 'sidecar~127.246.3.2~a.ns~ns.svc.cluster.local' }, type_url: TYPE_URLS.secret, version_info: '', response_nonce: '', resource_names: [], ...req });

    send({ resource_names: ['default', 'ROOTCA'] });
    const first = await next();
    assert.deepEqual(names(first).map((s) => s.name), ['ROOTCA'], 'default does not exist yet');
    send({ resource_names: ['default', 'ROOTCA'], version_info: first.version_info, response_nonce: first.nonce });
    secrets.set('default', { certificateChainPem: 'cert-1', privateKeyPem: 'key-1' });
    const second = await next();
    assert.deepEqual(names(second).map((s) => s.name).sort(), ['ROOTCA', 'default']);
    assert.notEqual(second.version_info, first.version_info);
    assert.equal(Buffer.from(names(second).find((s) => s.name === 'default')!.tls_certificate!.certificate_chain.inline_bytes).toString(), 'cert-1');
    send({ resource_names: ['default', 'ROOTCA'], version_info: second.version_info, response_nonce: second.nonce, error_detail: { code: 3, message: 'bad key' } });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(received.length, 0, 'no answer to a NACK');
    assert.ok(lines.some((l) => l.includes(`sds: Envoy rejected secrets version ${second.version_info} (ROOTCA, default): bad key`)), lines.join('\n'));
    secrets.set('default', { certificateChainPem: 'cert-2', privateKeyPem: 'key-2' });
    const third = await next();
    assert.equal(Buffer.from(names(third).find((s) => s.name === 'default')!.tls_certificate!.certificate_chain.inline_bytes).toString(), 'cert-2');
    send({ resource_names: ['default', 'ROOTCA'], version_info: third.version_info, response_nonce: third.nonce });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(received.length, 0, 'no answer to an ACK');
    assert.deepEqual(server.streams().map((s) => ({ acked: s.acked, nacks: s.nacks })), [{ acked: third.version_info, nacks: 1 }]);
    send({ resource_names: ['ROOTCA'], version_info: third.version_info, response_nonce: third.nonce });
    assert.deepEqual(names(await next()).map((s) => s.name), ['ROOTCA'], 'a change of names is answered');
    const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    stream.on('error', () => {});
    stream.end();
    assert.equal((await status).code, grpc.status.OK, 'the client\'s end ends the stream');
  });
});
