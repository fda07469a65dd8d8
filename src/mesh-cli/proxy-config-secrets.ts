// `proxy-config secret POD` (istioctl's): the secrets a proxy holds, read from its config_dump's
// SecretsConfigDump (Envoy's, from SDS; the meshwork proxy's, from its agent): per secret its type
// (Cert Chain or CA), state, whether the certificate is valid now, serial and validity, plus the
// workload's identity (the URI SAN of `default`) and the root's SHA-256 fingerprint. Private keys are
// never read: both data planes redact them, and this reads certificates only.
import { formatTable } from './output.js';
import { certificateInfo, type CertificateInfo } from '../security/certificate-info.js';
import { ROOT_CA_SECRET, WORKLOAD_SECRET } from '../security/secrets.js';

export interface SecretRow {
  name: string;
  type: 'Cert Chain' | 'CA';
  status: 'ACTIVE' | 'WARMING' | 'STATIC';
  validCert: boolean;
  serialNumber: string;
  notAfter: string;
  notBefore: string;
  uriSans: string[];
  fingerprintSha256: string;
}

export interface SecretsView {
  secrets: SecretRow[];
  /** The URI SAN of the workload certificate (`default`). */
  identity?: string;
  /** SHA-256 fingerprint of the mesh root (`ROOTCA`). */
  rootFingerprintSha256?: string;
  /** Secrets that could not be read, with why. */
  problems: string[];
}

interface DataSource {
  inline_bytes?: string;
  inline_string?: string;
  filename?: string;
}

interface DumpedSecret {
  name?: string;
  secret?: { name?: string; tls_certificate?: { certificate_chain?: DataSource }; validation_context?: { trusted_ca?: DataSource } };
}

function pemOf(source: DataSource | undefined): string | undefined {
  if (source?.inline_bytes !== undefined) return Buffer.from(source.inline_bytes, 'base64').toString('utf8');
  return source?.inline_string;
}

/** Go's big.Int Text(16), as istioctl prints serials: lower case, no leading zeros. */
function serialText(info: CertificateInfo): string {
  return info.serialNumber.replace(/^0+(?=.)/, '');
}

/** RFC 3339 in whole seconds, as istioctl prints times. */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function secretsView(part: unknown, now: Date): SecretsView {
  const p = (part ?? {}) as { static_secrets?: DumpedSecret[]; dynamic_active_secrets?: DumpedSecret[]; dynamic_warming_secrets?: DumpedSecret[] };
  const view: SecretsView = { secrets: [], problems: [] };
  const add = (entries: DumpedSecret[] | undefined, status: SecretRow['status']): void => {
    for (const entry of entries ?? []) {
      const name = entry.name ?? entry.secret?.name ?? '';
      const chain = entry.secret?.tls_certificate?.certificate_chain;
      const trusted = entry.secret?.validation_context?.trusted_ca;
      const type: SecretRow['type'] = entry.secret?.tls_certificate ? 'Cert Chain' : 'CA';
      const pem = pemOf(chain ?? trusted);
      if (!pem) {
        if (status !== 'WARMING') view.problems.push(`${name}: no inline certificate in the dump${(chain ?? trusted)?.filename ? ` (it is read from ${(chain ?? trusted)?.filename})` : ''}`);
        view.secrets.push({ name, type, status, validCert: false, serialNumber: '', notAfter: '', notBefore: '', uriSans: [], fingerprintSha256: '' });
        continue;
      }
      let info: CertificateInfo;
      try {
        info = certificateInfo(pem);
      } catch (err) {
        view.problems.push(`${name}: ${(err as Error).message}`);
        continue;
      }
      view.secrets.push({
        name,
        type,
        status,
        validCert: info.notBefore.getTime() <= now.getTime() && now.getTime() < info.notAfter.getTime(),
        serialNumber: serialText(info),
        notAfter: rfc3339(info.notAfter),
        notBefore: rfc3339(info.notBefore),
        uriSans: info.uriSans,
        fingerprintSha256: info.fingerprintSha256,
      });
      if (name === WORKLOAD_SECRET && type === 'Cert Chain' && info.uriSans[0]) view.identity = info.uriSans[0];
      if (name === ROOT_CA_SECRET && type === 'CA') view.rootFingerprintSha256 = info.fingerprintSha256;
    }
  };
  add(p.static_secrets, 'STATIC');
  add(p.dynamic_active_secrets, 'ACTIVE');
  add(p.dynamic_warming_secrets, 'WARMING');
  return view;
}

export function formatSecretsView(view: SecretsView): string {
  const rows = view.secrets.map((s) => [s.name, s.type, s.status, String(s.validCert), s.serialNumber || '-', s.notAfter || '-', s.notBefore || '-']);
  const lines = [formatTable(['RESOURCE NAME', 'TYPE', 'STATUS', 'VALID CERT', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE'], rows)];
  if (view.identity || view.rootFingerprintSha256) lines.push('');
  if (view.identity) lines.push(`IDENTITY: ${view.identity}`);
  if (view.rootFingerprintSha256) lines.push(`ROOT FINGERPRINT (SHA-256): ${view.rootFingerprintSha256}`);
  return lines.join('\n');
}
