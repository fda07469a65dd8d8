// Prometheus' Kubernetes pod discovery (role: pod), done outside Prometheus: the same targets and the same
// __meta_kubernetes_* labels its pod discoverer gives (discovery/kubernetes/pod.go), as file_sd target
// groups. Prometheus builds without Kubernetes discovery (Debian's: "Disable kubernetes SD, until
// dependencies are more reasonable") then run Istio's `kubernetes-pods` relabelling unchanged. Pure.

import type { V1Container, V1Pod } from '@kubernetes/client-node';

/** One file_sd target group (Prometheus' JSON shape). */
export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

const META = '__meta_kubernetes_';

/** Prometheus' strutil.SanitizeLabelName: every character outside [a-zA-Z0-9_] becomes `_`. */
export function sanitizeLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}

function ready(pod: V1Pod): string {
  const condition = pod.status?.conditions?.find((c) => c.type === 'Ready');
  return condition ? condition.status.toLowerCase() : 'unknown';
}

/** The pod's labels shared by all its targets: namespace, name, IP, labels and annotations, phase, node, owner. */
function podLabels(pod: V1Pod): Record<string, string> {
  const m = pod.metadata ?? {};
  const labels: Record<string, string> = {
    [`${META}namespace`]: m.namespace ?? '',
    [`${META}pod_name`]: m.name ?? '',
    [`${META}pod_ip`]: pod.status?.podIP ?? '',
    [`${META}pod_ready`]: ready(pod),
    [`${META}pod_phase`]: pod.status?.phase ?? '',
    [`${META}pod_node_name`]: pod.spec?.nodeName ?? '',
    [`${META}pod_host_ip`]: pod.status?.hostIP ?? '',
    [`${META}pod_uid`]: m.uid ?? '',
  };
  const controller = m.ownerReferences?.find((o) => o.controller);
  if (controller) {
    labels[`${META}pod_controller_kind`] = controller.kind;
    labels[`${META}pod_controller_name`] = controller.name;
  }
  for (const [k, v] of Object.entries(m.labels ?? {})) {
    labels[`${META}pod_label_${sanitizeLabelName(k)}`] = v;
    labels[`${META}pod_labelpresent_${sanitizeLabelName(k)}`] = 'true';
  }
  for (const [k, v] of Object.entries(m.annotations ?? {})) {
    labels[`${META}pod_annotation_${sanitizeLabelName(k)}`] = v;
    labels[`${META}pod_annotationpresent_${sanitizeLabelName(k)}`] = 'true';
  }
  return labels;
}

function containerGroups(ip: string, shared: Record<string, string>, container: V1Container, init: boolean): TargetGroup[] {
  const own = { [`${META}pod_container_name`]: container.name, [`${META}pod_container_image`]: container.image ?? '', [`${META}pod_container_init`]: String(init) };
  const ports = container.ports ?? [];
  // A container without ports is one target on the bare pod IP, for relabelling to give it a port.
  if (ports.length === 0) return [{ targets: [ip], labels: { ...shared, ...own } }];
  return ports.map((p) => ({
    targets: [`${ip}:${p.containerPort}`],
    labels: {
      ...shared,
      ...own,
      [`${META}pod_container_port_name`]: p.name ?? '',
      [`${META}pod_container_port_number`]: String(p.containerPort),
      [`${META}pod_container_port_protocol`]: p.protocol ?? 'TCP',
    },
  }));
}

/** The targets Prometheus' pod role discovers for these pods: one per container port (or per port-less container); pods without an IP have none. */
export function podTargetGroups(pods: readonly V1Pod[]): TargetGroup[] {
  const sorted = [...pods].sort((a, b) => `${a.metadata?.namespace}/${a.metadata?.name}`.localeCompare(`${b.metadata?.namespace}/${b.metadata?.name}`));
  return sorted.flatMap((pod) => {
    const ip = pod.status?.podIP;
    if (!ip) return [];
    const shared = podLabels(pod);
    return [
      ...(pod.spec?.initContainers ?? []).flatMap((c) => containerGroups(ip, shared, c, true)),
      ...(pod.spec?.containers ?? []).flatMap((c) => containerGroups(ip, shared, c, false)),
    ];
  });
}
