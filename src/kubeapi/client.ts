// Loading a kubeconfig context for @kubernetes/client-node, the one client the CLI and the control plane
// use for every cluster, local or real.
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { statePaths, DEFAULT_STATE_DIR } from '../runtime/state.js';

/**
 * Kubeconfig: the explicit path, else $KUBECONFIG, else the local clusters' (./.meshwork/kubeconfig),
 * else ~/.kube/config. Context: the explicit one, else the file's current-context.
 */
export function loadKubeConfig(opts: { kubeconfig?: string; context?: string; stateDir?: string }): KubeConfig {
  const kc = new KubeConfig();
  const local = statePaths(opts.stateDir ?? DEFAULT_STATE_DIR).kubeconfig;
  if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
  else if (!process.env.KUBECONFIG && existsSync(local)) kc.loadFromFile(local);
  else kc.loadFromDefault();
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      const known = kc.getContexts().map((c) => c.name).join(', ') || 'none';
      throw new Error(`context "${opts.context}" not found in the kubeconfig (contexts: ${known})`);
    }
    kc.setCurrentContext(opts.context);
  }
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
