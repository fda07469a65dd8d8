// The pod's own certificate, kept current (Istio's SecretManager in pilot-agent): a fresh key and CSR,
// CreateCertificate at the CA, then rotation once half the certificate's life has passed (Istio's
// SECRET_GRACE_PERIOD_RATIO 0.5). A failed fetch is retried with back-off while the old certificate
// is still served; nothing restarts. Serves `default` (chain + key) and `ROOTCA` (the mesh root) as a
// LocalSecretSource: the in-process meshwork proxy reads them there, the SDS server pushes them to Envoy.
import { Backoff } from '../../proxy/xds/backoff.js';
import { certificateInfo, splitPemChain, type CertificateInfo } from '../../security/certificate-info.js';
import { ROOT_CA_SECRET, WORKLOAD_SECRET, type LocalSecretSource, type TlsSecret } from '../../security/secrets.js';
import { createWorkloadCsr } from './csr.js';

export const GRACE_PERIOD_RATIO = 0.5;

/** What signs: CaClient in the agent. */
export interface CertificateSigner {
  createCertificate(csrPem: string, ttlSeconds: number): Promise<string[]>;
}

export interface WorkloadCertificatesOptions {
  spiffeId: string;
  signer: CertificateSigner;
  /** Requested lifetime (SECRET_TTL). */
  ttlMs: number;
  /** The mesh root the agent was given (MESHWORK_ROOT_CERT): ROOTCA. */
  rootCertPem: string;
  log: (line: string) => void;
  /** Retry back-off after a failed fetch (default 1 s doubling to 30 s). */
  retry?: { initialMs: number; maxMs: number };
}

export interface IssuedWorkloadCertificate {
  chainPem: string;
  keyPem: string;
  info: CertificateInfo;
  /** When the agent received it: the lifetime Istio's rotation counts from (a CA back-dates notBefore). */
  receivedAt: Date;
}

/** When to rotate: after GRACE_PERIOD_RATIO of the life left at receipt (Istio's rotateTime). */
export function rotationDelayMs(cert: Pick<IssuedWorkloadCertificate, 'receivedAt'> & { info: Pick<CertificateInfo, 'notAfter'> }, now: number): number {
  const life = cert.info.notAfter.getTime() - cert.receivedAt.getTime();
  const rotateAt = cert.info.notAfter.getTime() - GRACE_PERIOD_RATIO * life;
  return Math.max(0, rotateAt - now);
}

export class WorkloadCertificates implements LocalSecretSource {
  private cert: IssuedWorkloadCertificate | undefined;
  private readonly listeners = new Set<(name: string) => void>();
  private readonly firstWaiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly backoff: Backoff;
  private fetches = 0;

  constructor(private readonly opts: WorkloadCertificatesOptions) {
    if (splitPemChain(opts.rootCertPem).length === 0) throw new Error('the mesh root (MESHWORK_ROOT_CERT) holds no PEM certificate');
    const retry = opts.retry ?? { initialMs: 1000, maxMs: 30_000 };
    this.backoff = new Backoff({ initialMs: retry.initialMs, maxMs: retry.maxMs, multiplier: 2, jitter: 0.1 });
  }

  start(): void {
    void this.refresh();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** The certificate now served, if any. */
  certificate(): IssuedWorkloadCertificate | undefined {
    return this.cert;
  }

  /** How many certificates were received so far (1 after the first, +1 per rotation). */
  issued(): number {
    return this.fetches;
  }

  /** Resolves once the first certificate is in. */
  waitFirst(): Promise<void> {
    if (this.cert) return Promise.resolve();
    return new Promise((resolve) => this.firstWaiters.push(resolve));
  }

  current(name: string): TlsSecret | undefined {
    if (name === ROOT_CA_SECRET) return { trustedCaPem: this.opts.rootCertPem };
    if (name === WORKLOAD_SECRET && this.cert) return { certificateChainPem: this.cert.chainPem, privateKeyPem: this.cert.keyPem };
    return undefined;
  }

  onChange(listener: (name: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async refresh(): Promise<void> {
    if (this.stopped) return;
    try {
      const cert = await this.fetch();
      if (this.stopped) return;
      this.cert = cert;
      this.fetches++;
      this.backoff.reset();
      const delay = rotationDelayMs(cert, Date.now());
      this.opts.log(`identity: certificate for ${this.opts.spiffeId} serial ${cert.info.serialNumber}, valid until ${cert.info.notAfter.toISOString()}; rotating in ${Math.round(delay / 1000)} s`);
      for (const resolve of this.firstWaiters.splice(0)) resolve();
      for (const listener of [...this.listeners]) listener(WORKLOAD_SECRET);
      this.schedule(delay);
    } catch (err) {
      if (this.stopped) return;
      const delay = this.backoff.next();
      const still = this.cert && this.cert.info.notAfter.getTime() > Date.now() ? `; still serving serial ${this.cert.info.serialNumber} until ${this.cert.info.notAfter.toISOString()}` : '';
      this.opts.log(`identity: getting a certificate failed: ${(err as Error).message}; retrying in ${Math.round(delay)} ms${still}`);
      this.schedule(delay);
    }
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    // setTimeout caps at 2^31-1 ms (24.8 days); longer waits re-check then.
    this.timer = setTimeout(() => void this.refresh(), Math.min(delayMs, 2 ** 31 - 1));
  }

  private async fetch(): Promise<IssuedWorkloadCertificate> {
    const { csrPem, keyPem } = await createWorkloadCsr(this.opts.spiffeId);
    const chain = await this.opts.signer.createCertificate(csrPem, Math.max(1, Math.round(this.opts.ttlMs / 1000)));
    const receivedAt = new Date();
    const leafPem = chain[0]!;
    const info = certificateInfo(leafPem);
    if (!info.uriSans.includes(this.opts.spiffeId)) {
      throw new Error(`the CA signed a certificate for ${info.uriSans.join(', ') || 'no URI SAN'}, not ${this.opts.spiffeId}`);
    }
    if (info.notAfter.getTime() <= receivedAt.getTime()) throw new Error(`the CA signed a certificate that expired at ${info.notAfter.toISOString()}`);
    // The chain Envoy presents: leaf and intermediates; the root is what peers already trust.
    const blocks = chain.flatMap((pem) => splitPemChain(pem));
    const presented = blocks.length > 1 ? blocks.slice(0, -1) : blocks;
    return { chainPem: presented.join(''), keyPem, info, receivedAt };
  }
}
