// The environment of a container process, as the kubelet composes it: the pod's downward-API values,
// the spec's env (with $(VAR) references expanded), and the local-mode variables apps rely on.
import type { Container, Pod } from './pod-types.js';
import { SERVICEACCOUNT_DIR_ENV } from '../../k8s/serviceaccount.js';

/** Set in every pod process; lets a restarted kubelet prove a leftover pid is one of its own. */
export const POD_UID_MARKER = 'MESHWORK_POD_UID';

export interface EnvInput {
  pod: Pod;
  container: Container;
  podIp: string;
  hostIp: string;
  /** The IP this container's servers bind: the pod IP, or the app IP when a sidecar owns the pod IP. */
  bindIp: string;
  /** PATH of the kubelet's own environment. */
  path: string;
  /** The pod's working directory (also HOME, as a container's home is its own). */
  workDir: string;
  /** The pod's own kubeconfig (its service account's token, pod-token.ts), given as KUBECONFIG; the spec's env may override it. */
  serviceAccountKubeconfig?: string;
  /** The pod's `.serviceaccount` dir (token, ca.crt, namespace), given as MESHWORK_SERVICEACCOUNT_DIR: the agent reads its token there. */
  serviceAccountDir?: string;
}

export interface ContainerEnv {
  env: Record<string, string>;
  /** One line per env var that could not be resolved and was skipped. */
  warnings: string[];
}

export function containerEnv(input: EnvInput): ContainerEnv {
  const { pod, container } = input;
  const warnings: string[] = [];
  const env: Record<string, string> = {
    PATH: input.path,
    HOME: input.workDir,
    HOSTNAME: pod.metadata.name,
    POD_NAME: pod.metadata.name,
    POD_NAMESPACE: pod.metadata.namespace ?? 'default',
    POD_IP: input.podIp,
    ...(input.serviceAccountKubeconfig ? { KUBECONFIG: input.serviceAccountKubeconfig } : {}),
    ...(input.serviceAccountDir ? { [SERVICEACCOUNT_DIR_ENV]: input.serviceAccountDir } : {}),
  };
  for (const v of container.env ?? []) {
    if (v.value !== undefined || v.valueFrom === undefined) {
      env[v.name] = expandVars(v.value ?? '', env);
      continue;
    }
    const fieldPath = v.valueFrom.fieldRef?.fieldPath;
    if (fieldPath === undefined) {
      const source = Object.keys(v.valueFrom).join(', ') || 'an empty valueFrom';
      warnings.push(`env ${v.name} of container ${container.name}: valueFrom ${source} is not supported by the local kubelet; the variable is not set`);
      continue;
    }
    const value = fieldRefValue(fieldPath, input);
    if (value === undefined) {
      warnings.push(`env ${v.name} of container ${container.name}: fieldRef ${fieldPath} is not supported by the local kubelet; the variable is not set`);
      continue;
    }
    env[v.name] = value;
  }
  env.MESHWORK_BIND_IP = input.bindIp;
  env[POD_UID_MARKER] = pod.metadata.uid;
  return { env, warnings };
}

function fieldRefValue(path: string, input: EnvInput): string | undefined {
  const meta = input.pod.metadata;
  const mapKey = /^metadata\.(labels|annotations)\['([^']*)'\]$/.exec(path);
  if (mapKey) return (mapKey[1] === 'labels' ? meta.labels : meta.annotations)?.[mapKey[2]] ?? '';
  switch (path) {
    case 'metadata.name':
      return meta.name;
    case 'metadata.namespace':
      return meta.namespace ?? 'default';
    case 'metadata.uid':
      return meta.uid;
    case 'status.podIP':
    case 'status.podIPs':
      return input.podIp;
    case 'status.hostIP':
    case 'status.hostIPs':
      return input.hostIp;
    case 'spec.nodeName':
      return input.pod.spec.nodeName ?? '';
    case 'spec.serviceAccountName':
      return input.pod.spec.serviceAccountName ?? 'default';
    default:
      return undefined;
  }
}

/**
 * Kubernetes' $(VAR) expansion: a reference to a defined variable is replaced, `$$` is a literal `$`,
 * and a reference to an undefined variable stays as written.
 */
export function expandVars(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name: string | undefined) => {
    if (whole === '$$') return '$';
    return name !== undefined && Object.hasOwn(env, name) ? env[name] : whole;
  });
}
