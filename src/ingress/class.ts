// Which Kubernetes Ingresses are Istio's, and which gateway serves them: the meshConfig ingress
// settings and Istio's rules for them (pilot/pkg/config/kube/ingress). Pure.
import type { V1Ingress, V1IngressClass } from '@kubernetes/client-node';

/** meshConfig.ingressControllerMode: OFF (no Ingress), STRICT (only Istio's class), DEFAULT (also Ingresses without a class). */
export type IngressControllerMode = 'OFF' | 'STRICT' | 'DEFAULT';

/** The meshConfig fields of Kubernetes Ingress support. */
export interface IngressMeshSettings {
  ingressControllerMode: IngressControllerMode;
  /** The `kubernetes.io/ingress.class` annotation value that means Istio. */
  ingressClass: string;
  /** The Service of the ingress gateway, in the ingress namespace: its address is written to the Ingresses' status. */
  ingressService: string;
  /** The `istio` label value of the gateway pods that serve Ingresses. */
  ingressSelector: string;
}

/** Istio's defaults (pkg/config/mesh DefaultMeshConfig). */
export const DEFAULT_INGRESS_SETTINGS: IngressMeshSettings = {
  ingressControllerMode: 'STRICT',
  ingressClass: 'istio',
  ingressService: 'istio-ingressgateway',
  ingressSelector: '',
};

/** IngressClass `spec.controller` of Istio's class. */
export const ISTIO_INGRESS_CONTROLLER = 'istio.io/ingress-controller';
/** The deprecated annotation that names an Ingress's class; it wins over `spec.ingressClassName`. */
export const INGRESS_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
/** Where Istio puts the Gateways it makes from Ingresses and looks for the ingress Service (istiod's K8S_INGRESS_NS). */
export const DEFAULT_INGRESS_NAMESPACE = 'istio-system';

/**
 * Istio's shouldProcessIngressWithClass: the annotation, when present, must name the mesh's
 * ingressClass (mode OFF: never); else an IngressClass named by `spec.ingressClassName` (that exists)
 * must have Istio's controller; else only mode DEFAULT takes an Ingress without a class.
 */
export function isIstioIngress(ingress: V1Ingress, classes: readonly V1IngressClass[], mesh: IngressMeshSettings): boolean {
  const annotation = ingress.metadata?.annotations?.[INGRESS_CLASS_ANNOTATION];
  if (annotation !== undefined) return mesh.ingressControllerMode !== 'OFF' && annotation === mesh.ingressClass;
  const className = ingress.spec?.ingressClassName;
  const ingressClass = className === undefined ? undefined : classes.find((c) => c.metadata?.name === className);
  if (ingressClass) return ingressClass.spec?.controller === ISTIO_INGRESS_CONTROLLER;
  return mesh.ingressControllerMode === 'DEFAULT';
}

/**
 * Istio's getIngressGatewaySelector: `istio: <ingressSelector>` when set; else `istio: <ingressService>`
 * unless that is the default `istio-ingressgateway` (whose pods are labelled `istio: ingressgateway`).
 */
export function ingressGatewaySelector(mesh: IngressMeshSettings): Record<string, string> {
  if (mesh.ingressSelector) return { istio: mesh.ingressSelector };
  if (mesh.ingressService && mesh.ingressService !== 'istio-ingressgateway') return { istio: mesh.ingressService };
  return { istio: 'ingressgateway' };
}
