// `meshwork proxy-config [TYPE] <pod[.namespace]>` (alias pc, as istioctl): a proxy's config in Envoy's config_dump shape, from the
// proxy itself when its admin port answers, else the control plane's view of it (and it says which).

import { formatStructured } from './output.js';
import { loadKubeConfig } from '../k8s/client/client.js';
import { parseConfigDump } from './config-dump.js';
import { getJson } from './control-plane.js';
import { CommandError, errorMessage, outBlock, type CommandIo } from './io.js';
import { parsePodRef, resolvePod, hasSidecar } from './pods.js';
import { CONFIG_TYPES, ejectedHosts, formatConfigTable, type ConfigType, type OutlierView } from './proxy-config-tables.js';
import { fetchProxyDump } from './proxy-dump.js';
import { formatSecretsView, secretsView } from './proxy-config-secrets.js';
import { localKubeconfig } from '../runtime/state.js';

export interface ProxyConfigOptions {
  kubeconfig?: string;
  context?: string;
  stateDir?: string;
  pod: string;
  /** -n; a `pod.namespace` argument wins when -n is not given. */
  namespace?: string;
  type: ConfigType | 'all' | DumpOnlyType;
  output: 'table' | 'json' | 'yaml';
  controlPlaneAddress?: string;
  /** Show what the control plane sends rather than what the proxy holds. */
  fromControlPlane?: boolean;
}

/** Parts only Envoy's own dump has: its bootstrap, and the secrets it holds (SDS). */
export type DumpOnlyType = 'bootstrap' | 'secret';

export const CONFIG_TYPE_WORDS = 'all, listeners, routes, clusters, endpoints, bootstrap or secret';

export function parseConfigType(value: string): ConfigType | 'all' | DumpOnlyType {
  const aliases: Record<string, ConfigType | 'all' | DumpOnlyType> = {
    all: 'all', listener: 'listeners', listeners: 'listeners', route: 'routes', routes: 'routes',
    cluster: 'clusters', clusters: 'clusters', endpoint: 'endpoints', endpoints: 'endpoints',
    bootstrap: 'bootstrap', secret: 'secret', secrets: 'secret',
  };
  const type = aliases[value.toLowerCase()];
  if (!type) throw new Error(`unknown config type "${value}": use ${CONFIG_TYPE_WORDS}`);
  return type;
}

const DUMP_PARTS = {
  listeners: 'ListenersConfigDump', routes: 'RoutesConfigDump', clusters: 'ClustersConfigDump', endpoints: 'EndpointsConfigDump',
  bootstrap: 'BootstrapConfigDump', secret: 'SecretsConfigDump',
} as const;

/** The part of the dump -o json shows for one type: its envoy.admin.v3.*ConfigDump. */
function dumpPart(dump: unknown, type: ConfigType | 'all' | DumpOnlyType): unknown {
  if (type === 'all') return dump;
  const configs = (dump as { configs?: unknown }).configs;
  return Array.isArray(configs) ? configs.find((c: { '@type'?: unknown }) => typeof c?.['@type'] === 'string' && c['@type'].endsWith(`.${DUMP_PARTS[type]}`)) : undefined;
}

export async function runProxyConfig(opts: ProxyConfigOptions, io: CommandIo): Promise<number> {
  const kc = loadKubeConfig({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}), localKubeconfig: localKubeconfig(opts.stateDir) });
  const ref = parsePodRef(opts.pod, { allowDottedNamespace: opts.namespace === undefined });
  const namespace = opts.namespace ?? ref.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
  const pod = await resolvePod(kc, ref, namespace);
  const label = `${namespace}/${pod.metadata?.name ?? ref.name}`;
  if (!hasSidecar(pod) && !opts.fromControlPlane) io.err(`note: ${label} has no istio-proxy container; asking the control plane what a sidecar of it would get`);
  const fetched = await fetchProxyDump(kc, pod, {
    ...(opts.controlPlaneAddress ? { controlPlaneAddress: opts.controlPlaneAddress } : {}),
    controlPlaneOnly: opts.fromControlPlane === true || !hasSidecar(pod),
  });
  io.err(fetched.source === 'proxy'
    ? `config of ${label} from its proxy (${fetched.url})`
    : `config of ${label} from the control plane (${fetched.url})${fetched.fallbackReason ? `: ${fetched.fallbackReason}` : ''}`);

  if (opts.type === 'bootstrap' || opts.type === 'secret') {
    const part = dumpPart(fetched.dump, opts.type);
    if (part === undefined) {
      throw new CommandError(opts.type === 'bootstrap'
        ? `${fetched.url} has no ${DUMP_PARTS.bootstrap}: only an Envoy's own dump has its bootstrap (the meshwork proxy and the control plane's view have none)`
        : `${fetched.url} has no ${DUMP_PARTS.secret}: the proxy holds no certificates (its pod has none without MESHWORK_ROOT_CERT, and the control plane's view has none)`);
    }
    if (opts.type === 'secret') {
      // Certificates only, never a key: the table, or the same as JSON/YAML.
      const view = secretsView(part, new Date());
      for (const problem of view.problems) io.err(`warning: ${problem}`);
      outBlock(io, opts.output === 'table' ? formatSecretsView(view) : formatStructured(view, opts.output));
      return 0;
    }
    // A bootstrap reads best as the document it is; -o table is taken as json, as istioctl prints it.
    outBlock(io, formatStructured(part, opts.output === 'yaml' ? 'yaml' : 'json'));
    return 0;
  }
  if (opts.output !== 'table') {
    outBlock(io, formatStructured(dumpPart(fetched.dump, opts.type) ?? {}, opts.output));
    return 0;
  }
  let dumped;
  try {
    dumped = parseConfigDump(fetched.dump);
  } catch (err) {
    throw new CommandError(`${fetched.url}: ${errorMessage(err)}`);
  }
  for (const line of dumped.rejected) io.err(`warning: rejected update: ${line}`);
  const types = opts.type === 'all' ? CONFIG_TYPES : [opts.type];
  let outliers: OutlierView;
  if (fetched.source === 'proxy' && types.includes('endpoints')) {
    try {
      outliers = ejectedHosts(await getJson(fetched.url.replace(/\/config_dump$/, ''), '/clusters?format=json', 5000));
    } catch (err) {
      io.err(`note: outlier state unknown: ${errorMessage(err)}`);
    }
  }
  types.forEach((type, i) => {
    if (i > 0) io.out('');
    outBlock(io, formatConfigTable(dumped, type, outliers));
  });
  return 0;
}
