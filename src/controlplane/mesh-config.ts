// The mesh config of a revision, as istiod reads it: ConfigMap `istio-<revision>` in the control
// plane's namespace, key `mesh` (YAML). meshwork reads its `defaultConfig` (every injected pod's
// ProxyConfig before the pod's own proxy.istio.io/config annotation) and its Kubernetes Ingress
// settings (ingressControllerMode, ingressClass, ingressService, ingressSelector; Istio's defaults for
// those not set). A mesh config that does not parse is logged and the last good one stays in use, as
// istiod keeps its previous mesh config.
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import type { Clock } from '../clock.js';
import { checkProxyConfig, type ProxyConfig } from '../config/proxy-config.js';
import { DEFAULT_INGRESS_SETTINGS, type IngressControllerMode, type IngressMeshSettings } from '../ingress/class.js';
import { DEFAULT_TRUST_DOMAIN } from '../security/spiffe.js';
import { startResourceWatch, type ResourceWatch } from '../k8s/client/resource-watch.js';
import { MESH_CONFIG_KEY, meshConfigMapName } from '../install/names.js';


export interface MeshConfig {
  defaultConfig: ProxyConfig;
  ingress: IngressMeshSettings;
  /** meshConfig.outboundTrafficPolicy.mode; absent: Istio's default, ALLOW_ANY. A Sidecar's own policy wins. */
  outboundTrafficMode?: OutboundTrafficMode;
  /** meshConfig.trustDomain: the SPIFFE trust domain of workload identities; absent: cluster.local. */
  trustDomain?: string;
}

export type OutboundTrafficMode = 'REGISTRY_ONLY' | 'ALLOW_ANY';

function outboundTrafficMode(mesh: Record<string, unknown>): { ok: true; mode?: OutboundTrafficMode } | { ok: false; error: string } {
  const policy = mesh.outboundTrafficPolicy;
  if (policy === undefined || policy === null) return { ok: true };
  if (typeof policy !== 'object' || Array.isArray(policy)) return { ok: false, error: `outboundTrafficPolicy: expected a mapping, got ${JSON.stringify(policy)}` };
  const mode = (policy as Record<string, unknown>).mode;
  if (mode === undefined || mode === null) return { ok: true, mode: 'REGISTRY_ONLY' };
  if (mode !== 'REGISTRY_ONLY' && mode !== 'ALLOW_ANY') return { ok: false, error: `outboundTrafficPolicy.mode: expected REGISTRY_ONLY or ALLOW_ANY, got ${JSON.stringify(mode)}` };
  return { ok: true, mode };
}

const CONTROLLER_MODES: readonly IngressControllerMode[] = ['OFF', 'STRICT', 'DEFAULT'];

/** The Ingress fields of a MeshConfig mapping, each over Istio's default. */
function ingressSettings(mesh: Record<string, unknown>): { ok: true; ingress: IngressMeshSettings } | { ok: false; error: string } {
  const ingress: IngressMeshSettings = { ...DEFAULT_INGRESS_SETTINGS };
  const mode = mesh.ingressControllerMode;
  if (mode !== undefined && mode !== null) {
    const known = CONTROLLER_MODES.find((m) => m === mode);
    if (!known) return { ok: false, error: `ingressControllerMode: expected one of ${CONTROLLER_MODES.join(', ')}, got ${JSON.stringify(mode)}` };
    ingress.ingressControllerMode = known;
  }
  for (const key of ['ingressClass', 'ingressService', 'ingressSelector'] as const) {
    const value = mesh[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') return { ok: false, error: `${key}: expected a string, got ${JSON.stringify(value)}` };
    ingress[key] = value;
  }
  return { ok: true, ingress };
}

/** The `mesh` key's YAML: its defaultConfig and Ingress settings, checked; absent fields are Istio's defaults. */
export function parseMeshConfig(text: string): ({ ok: true } & MeshConfig) | { ok: false; error: string } {
  let mesh: unknown;
  try {
    mesh = text.trim() === '' ? {} : parseYaml(text);
  } catch (err) {
    return { ok: false, error: `not YAML: ${(err as Error).message.split('\n')[0]}` };
  }
  if (mesh === null || mesh === undefined) mesh = {};
  if (typeof mesh !== 'object' || Array.isArray(mesh)) return { ok: false, error: 'expected a mapping of MeshConfig fields' };
  const fields = mesh as Record<string, unknown>;
  const ingress = ingressSettings(fields);
  if (!ingress.ok) return ingress;
  const outbound = outboundTrafficMode(fields);
  if (!outbound.ok) return outbound;
  const trustDomain = fields.trustDomain;
  if (trustDomain !== undefined && trustDomain !== null && (typeof trustDomain !== 'string' || !/^[a-z0-9.\-_]+$/i.test(trustDomain))) {
    return { ok: false, error: `trustDomain: expected a domain name such as cluster.local, got ${JSON.stringify(trustDomain)}` };
  }
  const rest = {
    ingress: ingress.ingress,
    ...(outbound.mode ? { outboundTrafficMode: outbound.mode } : {}),
    ...(typeof trustDomain === 'string' ? { trustDomain } : {}),
  };
  const value = fields.defaultConfig;
  if (value === undefined || value === null) return { ok: true, defaultConfig: {}, ...rest };
  const checked = checkProxyConfig(value);
  return checked.ok ? { ok: true, defaultConfig: checked.config, ...rest } : { ok: false, error: `defaultConfig.${checked.error}` };
}

export interface MeshConfigWatch {
  /** meshConfig.defaultConfig now (empty without the ConfigMap). */
  defaultConfig(): ProxyConfig;
  /** meshConfig's Ingress settings now (Istio's defaults without the ConfigMap). */
  ingress(): IngressMeshSettings;
  /** meshConfig.outboundTrafficPolicy.mode now (undefined: not set, Istio's ALLOW_ANY). */
  outboundTrafficMode(): OutboundTrafficMode | undefined;
  /** meshConfig.trustDomain now, cluster.local when not set. */
  trustDomain(): string;
  /** The ConfigMaps were listed once: what the getters say is the cluster's. */
  synced(): boolean;
  readonly watch: ResourceWatch<V1ConfigMap>;
  stop(): Promise<void>;
}

export function watchMeshConfig(opts: {
  kubeConfig: KubeConfig;
  namespace: string;
  revision: string;
  log: (line: string) => void;
  /** After the mesh config in use changed. */
  onChange?: () => void;
  clock?: Clock;
}): MeshConfigWatch {
  const name = meshConfigMapName(opts.revision);
  const where = `ConfigMap ${opts.namespace}/${name} key ${MESH_CONFIG_KEY}`;
  let current: MeshConfig = { defaultConfig: {}, ingress: { ...DEFAULT_INGRESS_SETTINGS } };
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
        opts.log(`mesh config: ${where} is invalid (${parsed.error}); the previous mesh config stays in use`);
        return;
      }
      current = {
        defaultConfig: parsed.defaultConfig,
        ingress: parsed.ingress,
        ...(parsed.outboundTrafficMode ? { outboundTrafficMode: parsed.outboundTrafficMode } : {}),
        ...(parsed.trustDomain ? { trustDomain: parsed.trustDomain } : {}),
      };
      opts.log(`mesh config: defaultConfig ${JSON.stringify(current.defaultConfig)}, ingress ${JSON.stringify(current.ingress)} (from ${text === undefined ? 'no ConfigMap: Istio\'s defaults' : where})`);
      opts.onChange?.();
    },
    log: opts.log,
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  return {
    defaultConfig: () => current.defaultConfig,
    ingress: () => current.ingress,
    outboundTrafficMode: () => current.outboundTrafficMode,
    trustDomain: () => current.trustDomain ?? DEFAULT_TRUST_DOMAIN,
    synced: () => watch.synced(),
    watch,
    stop: () => watch.stop(),
  };
}
