// A pod's service-account credentials, the kubelet's projected `kube-api-access` volume: a bound token
// for the pod's service account (expiring, default 1 h, refreshed once 80 % of its life has passed,
// as the kubelet's token manager does), the cluster's CA and the namespace, written into the pod's own
// directory, plus a kubeconfig whose user reads the token file (`tokenFile`: kubectl re-reads it;
// k8s/client/client.ts makes client-node re-read it too). Containers get that kubeconfig as KUBECONFIG.
// Local pods share the host's file system, so the files are the only credentials handed to them.
import { chownSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Clock, TimerHandle } from '../../clock.js';

export const DEFAULT_TOKEN_SECONDS = 3600;
/** After a failed request, the next try. */
const RETRY_MS = 10_000;

export interface PodTokenIssuer {
  clusterName: string;
  server: string;
  caPem: string;
  /**
   * A token bound to the pod, for its service account; throws (or rejects) when it cannot be issued (no
   * such account). A remote API server's TokenRequest answers later: the first token is written before
   * the pod's containers start either way.
   */
  issue(pod: PodRef, expirationSeconds: number): IssuedToken | Promise<IssuedToken>;
  /**
   * Whether the pod gets a token at all, when the issuer knows better than the node's store: a real API
   * server's ServiceAccount admission has already decided, and says so in the pod's volumes.
   */
  wantsToken?(pod: { spec: { volumes?: unknown[] } }): boolean;
}

export interface IssuedToken {
  token: string;
  /** Unix milliseconds. */
  expirationTimestamp: number;
}

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
  serviceAccountName: string;
}

export interface PodTokenFiles {
  dir: string;
  token: string;
  caCert: string;
  namespace: string;
  kubeconfig: string;
}

export function podTokenFiles(workDir: string): PodTokenFiles {
  const dir = join(workDir, '.serviceaccount');
  return { dir, token: join(dir, 'token'), caCert: join(dir, 'ca.crt'), namespace: join(dir, 'namespace'), kubeconfig: join(dir, 'kubeconfig') };
}

/** The pod's kubeconfig: the cluster by its CA file, a user that reads the token file, the pod's namespace. */
export function podKubeconfig(files: PodTokenFiles, issuer: Pick<PodTokenIssuer, 'clusterName' | 'server'>, pod: PodRef): string {
  const user = `${pod.namespace}/${pod.serviceAccountName}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: issuer.clusterName, cluster: { server: issuer.server, 'certificate-authority': files.caCert } }],
    users: [{ name: user, user: { tokenFile: files.token } }],
    contexts: [{ name: issuer.clusterName, context: { cluster: issuer.clusterName, user, namespace: pod.namespace } }],
    'current-context': issuer.clusterName,
  });
}

/** Replaced whole, never half-written: a reader sees the old token or the new one. */
function writeAtomically(path: string, content: string, mode: number, owner?: { uid: number; gid: number }): void {
  const temp = `${path}.tmp`;
  writeFileSync(temp, content, { mode });
  if (owner) chownSync(temp, owner.uid, owner.gid);
  renameSync(temp, path);
}

/** When a token issued now and expiring at `expiresAt` is refreshed: at 80 % of its life. */
export function refreshDelayMs(issuedAt: number, expiresAt: number): number {
  return Math.max(1000, Math.floor((expiresAt - issuedAt) * 0.8));
}

export class PodServiceAccountToken {
  readonly files: PodTokenFiles;
  private timer: TimerHandle | undefined;
  private stopped = false;
  /** Who reads the files, when not the kubelet's user (a pod's proxy as uid 1337 in its own network namespace). */
  owner: { uid: number; gid: number } | undefined;

  constructor(
    workDir: string,
    private readonly pod: PodRef,
    private readonly issuer: PodTokenIssuer,
    private readonly clock: Clock,
    private readonly onError: (message: string) => void,
    private readonly expirationSeconds = DEFAULT_TOKEN_SECONDS,
  ) {
    this.files = podTokenFiles(workDir);
  }

  /** Writes the files with a fresh token and keeps it fresh until stop(); resolves once the first token is written (or failed). */
  start(): Promise<void> {
    mkdirSync(this.files.dir, { recursive: true, mode: 0o700 });
    if (this.owner) chownSync(this.files.dir, this.owner.uid, this.owner.gid);
    writeAtomically(this.files.caCert, this.issuer.caPem, 0o644, this.owner);
    writeAtomically(this.files.namespace, this.pod.namespace, 0o644, this.owner);
    writeAtomically(this.files.kubeconfig, podKubeconfig(this.files, this.issuer, this.pod), 0o600, this.owner);
    return this.refresh();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  /** Synchronous when the issuer answers at once (the local one), so a local pod's token is there on return. */
  private refresh(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const issuedAt = this.clock.now();
    let answer: IssuedToken | Promise<IssuedToken>;
    try {
      answer = this.issuer.issue(this.pod, this.expirationSeconds);
    } catch (err) {
      this.failed(err as Error);
      return Promise.resolve();
    }
    if (answer instanceof Promise) return answer.then((issued) => this.written(issuedAt, issued), (err: Error) => this.failed(err));
    this.written(issuedAt, answer);
    return Promise.resolve();
  }

  private written(issuedAt: number, { token, expirationTimestamp }: IssuedToken): void {
    if (this.stopped) return;
    writeAtomically(this.files.token, token, 0o600, this.owner);
    this.schedule(refreshDelayMs(issuedAt, expirationTimestamp));
  }

  private failed(err: Error): void {
    if (this.stopped) return;
    this.onError(`MountVolume.SetUp failed for volume "kube-api-access": ${err.message}`);
    this.schedule(RETRY_MS);
  }

  private schedule(delay: number): void {
    this.timer = this.clock.setTimer(() => void this.refresh(), delay, { unref: true });
  }
}
