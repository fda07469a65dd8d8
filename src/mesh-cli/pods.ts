// Finding the pod a command is about: `name`, `pod/name`, `deploy/name` (a running pod of the
// Deployment, as kubectl exec picks one), and for proxy-config `name.namespace` as istioctl accepts.

import { AppsV1Api, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { apiErrorCode, apiErrorMessage } from '../k8s/client/client.js';
import { SIDECAR_CONTAINER } from '../registry/build.js';
import { CommandError } from './io.js';

export interface PodRef {
  kind: 'pod' | 'deployment';
  name: string;
  /** From a `name.namespace` form; wins over -n only when -n is not given. */
  namespace?: string;
}

export function parsePodRef(text: string, opts: { allowDottedNamespace?: boolean } = {}): PodRef {
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const kind = text.slice(0, slash).toLowerCase();
    const name = text.slice(slash + 1);
    if (!name) throw new CommandError(`"${text}": missing name after "/"`);
    if (kind === 'pod' || kind === 'pods' || kind === 'po') return { kind: 'pod', name };
    if (kind === 'deploy' || kind === 'deployment' || kind === 'deployments') return { kind: 'deployment', name };
    throw new CommandError(`"${text}": only pod/NAME and deploy/NAME are supported`);
  }
  // Pod names may not contain dots in practice for workloads; istioctl reads pod.namespace this way.
  if (opts.allowDottedNamespace && text.includes('.')) {
    const dot = text.lastIndexOf('.');
    return { kind: 'pod', name: text.slice(0, dot), namespace: text.slice(dot + 1) };
  }
  return { kind: 'pod', name: text };
}

function isReady(pod: V1Pod): boolean {
  return pod.status?.phase === 'Running' && !pod.metadata?.deletionTimestamp && !!pod.status.podIP;
}

export async function resolvePod(kc: KubeConfig, ref: PodRef, namespace: string): Promise<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  if (ref.kind === 'pod') {
    try {
      return await core.readNamespacedPod({ name: ref.name, namespace });
    } catch (err) {
      if (apiErrorCode(err) === 404) throw new CommandError(`pod ${namespace}/${ref.name} not found (context ${kc.getCurrentContext()})`);
      throw new CommandError(`reading pod ${namespace}/${ref.name}: ${apiErrorMessage(err)}`);
    }
  }
  let selector: Record<string, string>;
  try {
    const deploy = await kc.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: ref.name, namespace });
    selector = deploy.spec?.selector.matchLabels ?? {};
  } catch (err) {
    if (apiErrorCode(err) === 404) throw new CommandError(`deployment ${namespace}/${ref.name} not found (context ${kc.getCurrentContext()})`);
    throw new CommandError(`reading deployment ${namespace}/${ref.name}: ${apiErrorMessage(err)}`);
  }
  const labelSelector = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
  if (!labelSelector) throw new CommandError(`deployment ${namespace}/${ref.name} has no matchLabels selector`);
  const pods = (await core.listNamespacedPod({ namespace, labelSelector })).items;
  const ready = pods.filter(isReady).sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  if (ready.length === 0) throw new CommandError(`deployment ${namespace}/${ref.name} has no running pod (${pods.length} pod(s) in total)`);
  return ready[0];
}

export function hasSidecar(pod: V1Pod): boolean {
  return (pod.spec?.containers ?? []).some((c) => c.name === SIDECAR_CONTAINER);
}

/** The container to exec into: the one asked for, else the default-container annotation, else the first app container. */
export function appContainer(pod: V1Pod, wanted?: string): string {
  const names = (pod.spec?.containers ?? []).map((c) => c.name);
  if (wanted) {
    if (!names.includes(wanted)) throw new CommandError(`pod ${pod.metadata?.name ?? '?'} has no container ${wanted} (containers: ${names.join(', ')})`);
    return wanted;
  }
  const annotated = pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'];
  if (annotated && names.includes(annotated)) return annotated;
  const app = names.find((n) => n !== SIDECAR_CONTAINER);
  if (!app) throw new CommandError(`pod ${pod.metadata?.name ?? '?'} has no container besides ${SIDECAR_CONTAINER}`);
  return app;
}

export function podLabel(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? '?'}/${pod.metadata?.name ?? '?'}`;
}
