// The workload's key and certificate signing request, made in the agent: the key never leaves it.
// ECDSA P-256 / SHA-256 as the mesh's CA signs; the request names the workload only by its SPIFFE URI
// SAN, as Istio's agent asks (no subject needed).
// @peculiar/x509 resolves its providers through tsyringe, which needs the Reflect metadata API loaded
// first; ES module imports are evaluated in order, so this one must stay above it.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

const KEY_ALGORITHM: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING_ALGORITHM: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

export interface WorkloadCsr {
  /** PEM "CERTIFICATE REQUEST". */
  csrPem: string;
  /** PKCS#8 PEM ("PRIVATE KEY"), read by Envoy and Node's tls alike. */
  keyPem: string;
}

export async function createWorkloadCsr(spiffeUri: string): Promise<WorkloadCsr> {
  const keys = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeUri }], true)],
  });
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { csrPem: csr.toString('pem'), keyPem: x509.PemConverter.encode(der, 'PRIVATE KEY') };
}
