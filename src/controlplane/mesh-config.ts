// The mesh config of a revision, as istiod reads it: ConfigMap `istio-<revision>` in the control
// plane's namespace, key `mesh` (YAML). meshwork reads its `defaultConfig`: every injected pod's
// ProxyConfig before the pod's own proxy.istio.io/config annotation. A mesh config that does not parse
// is logged and the last good one stays in use, as istiod keeps its previous mesh config.
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import type { Clock } from '../clock.js';
import { checkProxyConfig, type ProxyConfig } from '../config/proxy-config.js';
import { startResourceWatch } from './resource-watch.js';

export const MESH_CONFIG_KEY = 'mesh';

export function meshConfigMapName(revision: string): string {
  return `istio-${revision}`;
}

/** The `mesh` key's YAML: its defaultConfig, checked; an absent defaultConfig is an empty one. */
export function parseMeshConfig(text: string): { ok: true; defaultConfig: ProxyConfig } | { ok: false; error: string } {
  let mesh: unknown;
  try {
    mesh = text.trim() === '' ? {} : parseYaml(text);
  } catch (err) {
    return { ok: false, error: `not YAML: ${(err as Error).message.split('\n')[0]}` };
  }
  if (mesh === null || mesh === undefined) return { ok: true, defaultConfig: {} };
  if (typeof mesh !== 'object' || Array.isArray(mesh)) return { ok: false, error: 'expected a mapping of MeshConfig fields' };
  const value = (mesh as Record<string, unknown>).defaultConfig;
  if (value === undefined || value === null) return { ok: true, defaultConfig: {} };
  const checked = checkProxyConfig(value);
  return checked.ok ? { ok: true, defaultConfig: checked.config } : { ok: false, error: `defaultConfig.${checked.error}` };
}

export interface MeshConfigWatch {
  /** meshConfig.defaultConfig now (empty without the ConfigMap). */
  defaultConfig(): ProxyConfig;
  stop(): Promise<void>;
}

export function watchMeshConfig(opts: { kubeConfig: KubeConfig; namespace: string; revision: string; log: (line: string) => void; clock?: Clock }): MeshConfigWatch {
  const name = meshConfigMapName(opts.revision);
  const where = `ConfigMap ${opts.namespace}/${name} key ${MESH_CONFIG_KEY}`;
  let current: ProxyConfig = {};
  let currentText: string | undefined;
  const core = opts.kubeConfig.makeApiClient(CoreV1Api);
  const watch = startResourceWatch<V1ConfigMap>({
    kubeConfig: opts.kubeConfig,
    path: `/api/v1/namespaces/${opts.namespace}/configmaps`,
    list: () => core.listNamespacedConfigMap({ namespace: opts.namespace }),
    what: `mesh config (${where})`,
    onChange: () => {
      const text = watch.get(name, opts.namespace)?.data?.[MESH_CONFIG_KEY];
      if (text === currentText) return;
      currentText = text;
      const parsed = parseMeshConfig(text ?? '');
      if (!parsed.ok) {
        opts.log(`mesh config: ${where} is invalid (${parsed.error}); the previous defaultConfig stays in use`);
        return;
      }
      current = parsed.defaultConfig;
      opts.log(`mesh config: defaultConfig ${JSON.stringify(current)} (from ${text === undefined ? 'no ConfigMap: Istio\'s defaults' : where}); pods injected from now on get it`);
    },
    log: opts.log,
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  return { defaultConfig: () => current, stop: () => watch.stop() };
}
