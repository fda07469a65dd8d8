// The agent's SDS server for Envoy (Istio's workload SDS on a Unix socket): the secrets of a
// LocalSecretSource (`default`: tls_certificate; `ROOTCA`: validation_context trusted_ca) over
// envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets, state of the world. Each response
// carries every secret the stream asked for that exists, under a version that changes with any of
// them; ACKs are noted, NACKs logged; a rotation is pushed to every stream that asked for the secret.
// A name asked for before it exists (the first certificate is not in yet) is answered once it is.
import * as grpc from '@grpc/grpc-js';
import { adsServiceDefinition, packAny, TYPE_URLS, type DiscoveryRequest, type DiscoveryResponse } from '../xds/protos.js';
import type { LocalSecretSource, TlsSecret } from '../security/secrets.js';
import { serveOnUnixSocket } from './unix-socket-server.js';

const SDS_SERVICE = 'envoy.service.secret.v3.SecretDiscoveryService';

/** StreamSecrets carries the same DiscoveryRequest/Response messages as ADS. */
function sdsServiceDefinition(): grpc.ServiceDefinition {
  const ads = adsServiceDefinition().StreamAggregatedResources;
  return { StreamSecrets: { ...ads, path: `/${SDS_SERVICE}/StreamSecrets`, originalName: 'streamSecrets' } };
}

/** A secret as Envoy's Secret resource. */
export function secretResource(name: string, secret: TlsSecret): Record<string, unknown> {
  const bytes = (pem: string) => ({ inline_bytes: Buffer.from(pem) });
  if (secret.certificateChainPem && secret.privateKeyPem) {
    return { name, tls_certificate: { certificate_chain: bytes(secret.certificateChainPem), private_key: bytes(secret.privateKeyPem) } };
  }
  if (secret.trustedCaPem) return { name, validation_context: { trusted_ca: bytes(secret.trustedCaPem) } };
  throw new Error(`secret ${name} has neither a certificate with its key nor trusted CAs`);
}

export interface SdsServerOptions {
  /** The Unix socket to listen on (replaced if a stale one is there). */
  socketPath: string;
  secrets: LocalSecretSource;
  log: (line: string) => void;
}

export interface SdsStreamState {
  names: string[];
  /** Version of the last response sent and the last ACKed. */
  sent: string;
  acked: string;
  nacks: number;
}

export interface RunningSdsServer {
  socketPath: string;
  /** One entry per open stream. */
  streams(): SdsStreamState[];
  close(): Promise<void>;
}

export async function startSdsServer(opts: SdsServerOptions): Promise<RunningSdsServer> {
  let version = 0;
  const open = new Set<{ state: SdsStreamState; push(): void }>();
  const unsubscribe = opts.secrets.onChange((name) => {
    version++;
    for (const stream of open) if (stream.state.names.includes(name)) stream.push();
  });

  const handler = (call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>): void => {
    const state: SdsStreamState = { names: [], sent: '', acked: '', nacks: 0 };
    let nonce = 0;
    let lastNonce = '';
    let lastSentKey = '';
    const push = (): void => {
      const available = state.names.flatMap((name) => {
        const secret = opts.secrets.current(name);
        return secret ? [{ name, secret }] : [];
      });
      if (available.length === 0) return;
      // Same secrets at the same version were sent already: nothing new for this stream.
      const key = `${version}|${available.map((a) => a.name).join(',')}`;
      if (key === lastSentKey) return;
      lastSentKey = key;
      lastNonce = String(++nonce);
      state.sent = String(version);
      call.write({
        version_info: state.sent,
        resources: available.map(({ name, secret }) => packAny(TYPE_URLS.secret, secretResource(name, secret))),
        type_url: TYPE_URLS.secret,
        nonce: lastNonce,
      } as DiscoveryResponse);
    };
    const entry = { state, push };
    open.add(entry);
    call.on('data', (req: DiscoveryRequest) => {
      if (req.type_url && req.type_url !== TYPE_URLS.secret) {
        call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: `StreamSecrets serves ${TYPE_URLS.secret}, not ${req.type_url}` });
        return;
      }
      const names = [...(req.resource_names ?? [])].sort();
      const namesChanged = names.join(',') !== state.names.join(',');
      state.names = names;
      if (req.response_nonce && req.response_nonce === lastNonce) {
        if (req.error_detail) {
          state.nacks++;
          opts.log(`sds: Envoy rejected secrets version ${state.sent} (${names.join(', ')}): ${req.error_detail.message}`);
        } else {
          state.acked = req.version_info ?? '';
        }
        if (!namesChanged) return;
      }
      push();
    });
    const close = (): void => {
      open.delete(entry);
    };
    call.on('end', () => {
      close();
      call.end();
    });
    call.on('cancelled', close);
    call.on('error', close);
  };

  const server = new grpc.Server();
  server.addService(sdsServiceDefinition(), { StreamSecrets: handler });
  const stop = await serveOnUnixSocket(server, opts.socketPath);
  return {
    socketPath: opts.socketPath,
    streams: () => [...open].map((s) => ({ ...s.state })),
    close: () =>
      new Promise<void>((resolve) => {
        unsubscribe();
        stop();
        resolve();
      }),
  };
}
