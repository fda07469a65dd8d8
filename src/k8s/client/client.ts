// Loading a kubeconfig context for @kubernetes/client-node, the one client the CLI and the control plane
// use for every cluster, local or real.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';

/** Where a command finds its clusters. */
export interface KubeconfigChoice {
  /** --kubeconfig */
  kubeconfig?: string;
  /**
   * The local clusters' kubeconfig (`meshwork up`'s, in its state folder: the caller knows where), read
   * when no kubeconfig is named and $KUBECONFIG is unset, if it exists.
   */
  localKubeconfig?: string;
}

/**
 * Kubeconfig: the explicit path, else $KUBECONFIG, else the local clusters' (opts.localKubeconfig),
 * else ~/.kube/config. Context: the explicit one, else the file's current-context.
 */
export function loadKubeConfig(opts: KubeconfigChoice & { context?: string }): KubeConfig {
  const kc = new KubeConfig();
  const local = opts.localKubeconfig;
  if (opts.kubeconfig) loadFiles(kc, [opts.kubeconfig]);
  else if (!process.env.KUBECONFIG && local && existsSync(local)) loadFiles(kc, [local]);
  else loadDefault(kc);
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      const known = kc.getContexts().map((c) => c.name).join(', ') || 'none';
      throw new Error(`context "${opts.context}" not found in the kubeconfig (contexts: ${known})`);
    }
    kc.setCurrentContext(opts.context);
  }
  return kc;
}

/** The kubeconfig file loadKubeConfig reads (the first of $KUBECONFIG's), in the same order. */
export function kubeconfigPath(opts: KubeconfigChoice): string {
  if (opts.kubeconfig) return resolve(opts.kubeconfig);
  const local = opts.localKubeconfig;
  const fromEnv = process.env.KUBECONFIG?.split(delimiter).find(Boolean);
  if (fromEnv) return resolve(fromEnv);
  if (local && existsSync(local)) return resolve(local);
  return join(homedir(), '.kube', 'config');
}

/** client-node's default order (KUBECONFIG, ~/.kube/config, in-cluster), with `tokenFile` users honoured. */
export function loadDefault(kc: KubeConfig): KubeConfig {
  kc.loadFromDefault();
  const files = process.env.KUBECONFIG ? process.env.KUBECONFIG.split(delimiter).filter(Boolean) : [join(homedir(), '.kube', 'config')];
  return honourTokenFiles(kc, files);
}

function loadFiles(kc: KubeConfig, files: string[]): void {
  kc.loadFromFile(files[0]!);
  honourTokenFiles(kc, files);
}

/**
 * kubectl's `tokenFile` user field (what the kubelet writes into a pod's kubeconfig): the bearer token
 * is read from that file, and read again as it is refreshed. client-node 1.4 ignores the field, but
 * re-reads a token file (every minute, as client-go) for its in-cluster `tokenFile` auth provider:
 * such users get that provider.
 */
export function honourTokenFiles(kc: KubeConfig, files: string[]): KubeConfig {
  const tokenFiles = new Map<string, string>();
  for (const file of files) {
    let doc: unknown;
    try {
      doc = parse(readFileSync(file, 'utf8'));
    } catch {
      continue; // client-node has already said what is wrong with the file, or skipped it
    }
    const users = (doc as { users?: Array<{ name?: unknown; user?: { tokenFile?: unknown } }> } | null)?.users ?? [];
    for (const u of users) {
      if (typeof u?.name === 'string' && typeof u.user?.tokenFile === 'string' && !tokenFiles.has(u.name)) tokenFiles.set(u.name, resolve(dirname(file), u.user.tokenFile));
    }
  }
  if (tokenFiles.size === 0) return kc;
  const users = kc.users.map((u) => {
    const tokenFile = tokenFiles.get(u.name);
    return tokenFile && !u.token && !u.authProvider ? { ...u, authProvider: { name: 'tokenFile', config: { tokenFile } } } : u;
  });
  kc.loadFromOptions({ clusters: kc.clusters, users, contexts: kc.contexts, currentContext: kc.currentContext });
  return kc;
}

/** The error message inside a client-node ApiException (the apiserver's Status message), or the error's own. */
export function apiErrorMessage(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string };
  if (typeof e?.body === 'string') {
    try {
      const status = JSON.parse(e.body) as { message?: string };
      if (status.message) return status.message;
    } catch {
      return e.body;
    }
  }
  if (e?.body && typeof e.body === 'object' && 'message' in e.body) return String((e.body as { message: unknown }).message);
  return e?.message ?? String(err);
}

export function apiErrorCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}
