// What the translator (and the registry's Ingress conversion) found wrong with the config, in the words a
// mesh user needs to fix it; `analyze` prints them, the control plane writes them to the objects' status.
// A problem never stops translation: the offending piece is left out and everything else is served,
// so one bad VirtualService cannot take the whole mesh's config down (nor make a client NACK).

/** Pod: a proxy's pod (its proxy.istio.io/config annotation); Ingress: a Kubernetes Ingress of Istio's class. */
export type ConfigKind = 'VirtualService' | 'DestinationRule' | 'Gateway' | 'ServiceEntry' | 'Sidecar' | 'PeerAuthentication' | 'AuthorizationPolicy' | 'Pod' | 'Ingress';

export interface Problem {
  /** `info`: not wrong, but worth knowing (what applies where it differs from Istio). */
  severity: 'error' | 'warning' | 'info';
  /** A stable, greppable identifier, e.g. 'unknown-subset'. */
  code: ProblemCode;
  kind: ConfigKind;
  name: string;
  namespace: string;
  /** Path to the offending field: 'spec.http[0].route[1].destination.subset'. */
  field: string;
  /** What is wrong and how to fix it. */
  message: string;
}

export type ProblemCode =
  | 'unknown-host'
  | 'unknown-subset'
  | 'unknown-port'
  | 'ambiguous-port'
  | 'zero-total-weight'
  | 'negative-weight'
  | 'duplicate-domain'
  | 'duplicate-host'
  | 'duplicate-subset'
  | 'invalid-duration'
  | 'invalid-match'
  | 'invalid-percentage'
  | 'invalid-route'
  /** Istio's own validation (what istiod's webhook would deny) refuses the object. */
  | 'invalid-config'
  | 'unknown-gateway'
  /** A Gateway's credentialName names no Secret in the gateway's namespace (Istio's IST0101). */
  | 'unknown-credential'
  /** The Secret exists but holds no usable certificate (Istio's IST0161 InvalidGatewayCredential). */
  | 'invalid-credential'
  | 'unsupported'
  | 'unsupported-by-proxyless'
  | 'config-diverges-between-clusters'
  | 'subset-selects-nothing'
  /** Istio's IST0111: a namespace has more than one Sidecar without workloadSelector. */
  | 'multiple-sidecars-without-selector'
  /** Istio's IST0110: a workload is selected by more than one Sidecar. */
  | 'conflicting-sidecar-selectors'
  /** An Istio annotation on a pod that does not parse (Istio's IST0125 InvalidAnnotation). */
  | 'invalid-annotation'
  /** traffic.sidecar.istio.io annotations on a proxy pod that iptables does not capture: nothing applies them. */
  | 'traffic-annotations-not-applied'
  /** Locality failover acts on readiness without outlierDetection (Istio's would do nothing). */
  | 'locality-failover-by-readiness'
  /** A localityLbSetting that changes nothing: every endpoint sits in one locality. */
  | 'locality-lb-no-effect'
  /** A delegate VirtualService that cannot be merged into its root (missing, not exported, nested, conflicting matches). */
  | 'invalid-delegate'
  /** A Gateway TCP/TLS server that no VirtualService route serves: no listener is opened for it. */
  | 'server-without-route'
  /** An AuthorizationPolicy part that is not enforced as written: CUSTOM, request authentication attributes. */
  | 'authz-unsupported'
  /** Istio's IST0127: a selector that matches no workload. */
  /** Several PeerAuthentications of one scope (namespace-wide, or selecting one workload): only the oldest applies. */
  | 'conflicting-peer-authentications'
  /** A DestinationRule sends plaintext or non-mesh TLS to a workload whose PeerAuthentication is STRICT (Istio's IST0113). */
  | 'mtls-policy-conflict'
  /** A policy's workload selector matches no workload (Istio's IST0127). */
  | 'no-matching-workloads';

/** Collects problems once each (the same VirtualService route is seen for many vhosts and proxies). */
export class ProblemLog {
  readonly #seen = new Set<string>();
  readonly #problems: Problem[] = [];

  add(problem: Problem): void {
    const key = `${problem.kind}|${problem.namespace}|${problem.name}|${problem.field}|${problem.code}|${problem.message}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.#problems.push(problem);
  }

  list(): Problem[] {
    return [...this.#problems].sort(
      (a, b) =>
        a.kind.localeCompare(b.kind) ||
        a.namespace.localeCompare(b.namespace) ||
        a.name.localeCompare(b.name) ||
        a.field.localeCompare(b.field, undefined, { numeric: true }) ||
        a.code.localeCompare(b.code),
    );
  }
}

/** The part of a problem that names the object; routes and clusters carry it to where checks run. */
export interface ConfigRef {
  kind: ConfigKind;
  name: string;
  namespace: string;
}

export function problemAt(
  ref: ConfigRef,
  severity: Problem['severity'],
  code: ProblemCode,
  field: string,
  message: string,
): Problem {
  return { severity, code, kind: ref.kind, name: ref.name, namespace: ref.namespace, field, message };
}
