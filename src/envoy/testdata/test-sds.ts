// A pod agent's SDS server for tests that give a real Envoy translated TLS config: Envoy's `sds-grpc`
// cluster points here, and every secret it asks for (`default`, `ROOTCA`) is answered with a real
// certificate of a throw-away mesh CA. State of the world, one response per change of the names asked.
import * as grpc from '@grpc/grpc-js';
import { createCertificateAuthority, issueServerCertificate } from '../../security/pki/authority.js';
import { adsServiceDefinition, packAny, TYPE_URLS, type DiscoveryRequest, type DiscoveryResponse } from '../../xds/protos.js';
import { ROOT_CA_SECRET, WORKLOAD_SECRET } from '../../security/secrets.js';

export interface TestSds {
  port: number;
  /** Names Envoy asked for, in order of first request. */
  requested(): string[];
  close(): void;
}

/** The Secret resources of a throw-away mesh: the workload certificate and the root that signed it. */
export async function meshSecrets(): Promise<Record<string, object>> {
  const ca = await createCertificateAuthority('test mesh root');
  const leaf = await issueServerCertificate(ca, { commonName: 'workload', dnsNames: ['workload.test'], ipAddresses: [] });
  return {
    [WORKLOAD_SECRET]: { name: WORKLOAD_SECRET, tls_certificate: { certificate_chain: { inline_string: leaf.certPem }, private_key: { inline_string: leaf.keyPem } } },
    [ROOT_CA_SECRET]: { name: ROOT_CA_SECRET, validation_context: { trusted_ca: { inline_string: ca.certPem } } },
  };
}

/** `host`: where it listens (default 127.0.0.1; a bridge address for an Envoy in a pod's network namespace). */
export async function startTestSds(secrets: Record<string, object>, host = '127.0.0.1'): Promise<TestSds> {
  const ads = adsServiceDefinition().StreamAggregatedResources;
  const definition: grpc.ServiceDefinition = {
    StreamSecrets: { ...ads, path: '/envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets', originalName: 'streamSecrets' },
  };
  const requested: string[] = [];
  const server = new grpc.Server();
  server.addService(definition, {
    StreamSecrets: (call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => {
      let sent = '';
      let nonce = 0;
      call.on('data', (request: DiscoveryRequest) => {
        const names = [...(request.resource_names ?? [])].sort();
        for (const name of names) if (!requested.includes(name)) requested.push(name);
        if (names.join(',') === sent) return; // an ACK (or a NACK) of what was sent
        sent = names.join(',');
        const resources = names.filter((n) => secrets[n]).map((n) => packAny(TYPE_URLS.secret, secrets[n]!));
        call.write({ version_info: '1', resources, type_url: TYPE_URLS.secret, nonce: String(++nonce) });
      });
      call.on('error', () => {});
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))));
  return { port, requested: () => [...requested], close: () => server.forceShutdown() };
}
