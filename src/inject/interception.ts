// The injector's side of iptables interception, as Istio's sidecar template writes it: an `istio-init`
// init container that programs the capture (`istio-iptables` with the pod's traffic.sidecar.istio.io
// annotations), the proxy running as uid/gid 1337 so its own traffic is not captured, and
// ISTIO_META_INTERCEPTION_MODE so the control plane sends the virtualOutbound/virtualInbound model.
// Only when the mesh runs with interception (InjectionContext.interceptionMode); pods otherwise keep
// the http_proxy variables. Pure.

import { INIT_CONTAINER, INTERCEPTION_MODE_ANNOTATION, trafficAnnotations } from '../config/interception.js';
import type { Container, Pod } from './pod.js';
import { istioInitArgs } from './iptables-rules.js';

export const INTERCEPTION_MODE_ENV = 'ISTIO_META_INTERCEPTION_MODE';
/** The proxy's uid and gid: the capture rules let its traffic through (istio-iptables -u 1337). */
export const PROXY_UID = 1337;

export type InterceptionDecision = { capture: true } | { capture: false; warning?: string };

/**
 * Whether the pod is captured: the mesh must run with interception and the pod's data plane must be
 * Envoy (the meshwork proxy has no original-destination listeners); the pod's annotation may opt out.
 */
export function interceptionFor(pod: Pod, mesh: 'REDIRECT' | undefined, dataPlane: 'envoy' | 'meshwork'): InterceptionDecision {
  const decision = captureDecision(pod, mesh, dataPlane);
  if (decision.capture) return decision;
  // Capture annotations only shape istio-init's rules: without capture they do nothing, and say so.
  const unused = trafficAnnotations(pod.metadata.annotations);
  if (unused.length === 0) return decision;
  const note = `${unused.join(', ')} not applied: the pod is not captured by iptables (it uses http_proxy)`;
  return { capture: false, warning: decision.warning ? `${decision.warning}; ${note}` : note };
}

function captureDecision(pod: Pod, mesh: 'REDIRECT' | undefined, dataPlane: 'envoy' | 'meshwork'): InterceptionDecision {
  const asked = pod.metadata.annotations?.[INTERCEPTION_MODE_ANNOTATION]?.trim();
  if (asked === 'NONE') return { capture: false };
  if (asked !== undefined && asked !== 'REDIRECT') {
    const warning = `annotation ${INTERCEPTION_MODE_ANNOTATION}: "${asked}" is not supported (REDIRECT or NONE)`;
    if (asked !== 'TPROXY') return { capture: false, warning };
    if (!mesh) return { capture: false, warning };
    return dataPlane === 'envoy' ? { capture: true } : { capture: false, warning: `${warning}; and interception needs the envoy data plane` };
  }
  if (!mesh) {
    return asked === 'REDIRECT'
      ? { capture: false, warning: `annotation ${INTERCEPTION_MODE_ANNOTATION}: REDIRECT, but this mesh runs without interception (meshwork up --interception iptables, as root); the pod uses http_proxy` }
      : { capture: false };
  }
  if (dataPlane !== 'envoy') return { capture: false, warning: 'the mesh runs with iptables interception, which needs the envoy data plane; this pod (data plane meshwork) uses http_proxy' };
  return { capture: true };
}

/** Adds istio-init, runs the proxy as 1337 with ISTIO_META_INTERCEPTION_MODE, and records the mode on the pod. */
export function addInterception(pod: Pod, proxy: Container, proxyImage: string): void {
  const annotations = (pod.metadata.annotations ??= {});
  annotations[INTERCEPTION_MODE_ANNOTATION] = 'REDIRECT';
  const init: Container = {
    name: INIT_CONTAINER,
    image: proxyImage,
    args: ['istio-iptables', ...istioInitArgs(annotations)],
    securityContext: {
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
    },
  };
  const existing = pod.spec.initContainers ?? [];
  pod.spec.initContainers = [...existing.filter((c) => c.name !== INIT_CONTAINER), init];
  proxy.env = [...(proxy.env ?? []).filter((e) => e.name !== INTERCEPTION_MODE_ENV), { name: INTERCEPTION_MODE_ENV, value: 'REDIRECT' }];
  proxy.securityContext = { ...(proxy.securityContext as Record<string, unknown> | undefined), runAsUser: PROXY_UID, runAsGroup: PROXY_UID, runAsNonRoot: true };
}
