// A workload's pod from its pod template, as every workload controller makes one: the template's
// labels, annotations and spec, owned by the controller (controller: true), plus what the kind adds
// (a fixed name for a StatefulSet, the tracking finalizer of a Job, a DaemonSet's node affinity).
import { applyDefaults } from '../../config/defaults.js';
import type { KubeObject, StoredObject } from '../../k8s/object.js';
import { controllerReferenceTo } from './owners.js';
import type { JsonObject } from './read.js';
import { cloneJson, optRecord, optStringMap, record } from './read.js';
import { PODS } from './resources.js';

export interface PodAdditions {
  /** A fixed name; without one the store names the pod `<owner>-` plus 5 characters. */
  name?: string;
  /** Set over the template's labels. */
  labels?: Record<string, string>;
  finalizers?: string[];
  /** Top-level pod spec fields set over the template's (hostname, affinity, tolerations). */
  spec?: JsonObject;
}

/**
 * A new pod for `owner` from a pod template, with the apiserver's defaults applied (controllers write
 * the store directly, or through admission, never through the API server's defaulting).
 */
export function podFromTemplate(template: JsonObject, owner: StoredObject, add: PodAdditions = {}): KubeObject {
  const meta = optRecord(template.metadata, 'spec.template.metadata') ?? {};
  const templateLabels = optStringMap(meta.labels, 'spec.template.metadata.labels');
  const labels = templateLabels || add.labels ? { ...templateLabels, ...add.labels } : undefined;
  const annotations = optStringMap(meta.annotations, 'spec.template.metadata.annotations');
  const metadata: KubeObject['metadata'] = {
    ...(add.name ? { name: add.name } : { generateName: `${owner.metadata.name}-` }),
    namespace: owner.metadata.namespace,
    ...(labels ? { labels } : {}),
    ...(annotations ? { annotations } : {}),
    ownerReferences: [controllerReferenceTo(owner)],
  };
  const templateFinalizers = meta.finalizers;
  const finalizers = [
    ...(Array.isArray(templateFinalizers) ? templateFinalizers.filter((f): f is string => typeof f === 'string') : []),
    ...(add.finalizers ?? []),
  ];
  if (finalizers.length > 0) metadata.finalizers = finalizers;
  return applyDefaults(PODS, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata,
    spec: { ...cloneJson(record(template.spec, 'spec.template.spec')), ...cloneJson(add.spec ?? {}) },
    status: { phase: 'Pending' },
  });
}
