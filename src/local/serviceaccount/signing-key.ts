// The cluster's service-account signing key (kube-apiserver's --service-account-signing-key-file,
// kubeadm's pki/sa.key and sa.pub): made at first start, kept in the cluster's pki folder, so tokens
// issued before a restart stay valid after it.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function loadOrCreateSigningKey(pkiDir: string): SigningKey {
  const keyFile = join(pkiDir, 'sa.key');
  const pubFile = join(pkiDir, 'sa.pub');
  if (existsSync(keyFile)) {
    const privateKey = createPrivateKey(readFileSync(keyFile, 'utf8'));
    return { privateKey, publicKey: createPublicKey(privateKey) };
  }
  mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(pubFile, publicKey.export({ type: 'spki', format: 'pem' }));
  return { privateKey, publicKey };
}
