// PeerAuthentication: which mTLS a workload's inbound side accepts, with Istio's precedence
// (AuthenticationPolicies.GetPeerAuthenticationsForWorkload + ComposePeerAuthentication):
//   mesh (root namespace, no selector) < namespace (no selector) < workload (selector, not in the
//   root namespace) < the workload policy's portLevelMtls; UNSET (or no mtls) inherits the level
//   above; with nothing set the mode is PERMISSIVE. Several policies of one level: the oldest wins.
// And the analyzer's checks about them.

import type { PeerAuthentication, PeerAuthenticationMode } from '../config/istio-types.js';
import { compareByCreation, type IstioObject, type MeshEndpoint } from '../registry/model.js';
import type { TranslationContext } from './context.js';
import { labelsMatch } from './names.js';
import { problemAt, type ProblemLog } from '../config/problems.js';

export type MtlsMode = Exclude<PeerAuthenticationMode, 'UNSET'>;

/** A workload's mode, and its own per-port modes (keyed by the workload's container port). */
export interface WorkloadMtls {
  mode: MtlsMode;
  perPort: ReadonlyMap<number, MtlsMode>;
}

export interface Workload {
  namespace: string;
  labels: Readonly<Record<string, string>>;
}

type Policy = IstioObject<PeerAuthentication>;

const hasSelector = (p: Policy): boolean => Object.keys(p.spec.selector?.matchLabels ?? {}).length > 0;
const setMode = (mode: PeerAuthenticationMode | undefined): MtlsMode | undefined => (mode === undefined || mode === 'UNSET' ? undefined : mode);
const oldest = (policies: readonly Policy[]): Policy | undefined => [...policies].sort(compareByCreation)[0];

/** The policies that apply to a workload at each level, the oldest of each level. */
export function applicablePolicies(policies: readonly Policy[], rootNamespace: string, workload: Workload): { mesh?: Policy; namespace?: Policy; workload?: Policy } {
  const mesh = oldest(policies.filter((p) => p.namespace === rootNamespace && !hasSelector(p)));
  const namespace = workload.namespace === rootNamespace ? undefined : oldest(policies.filter((p) => p.namespace === workload.namespace && !hasSelector(p)));
  // A selector in the root namespace selects nothing mesh-wide (Istio ignores it for every workload).
  const selected = oldest(policies.filter((p) => p.namespace === workload.namespace && p.namespace !== rootNamespace && hasSelector(p) &&
    labelsMatch(p.spec.selector?.matchLabels, workload.labels)));
  return { ...(mesh ? { mesh } : {}), ...(namespace ? { namespace } : {}), ...(selected ? { workload: selected } : {}) };
}

export function workloadMtls(policies: readonly Policy[], rootNamespace: string, workload: Workload): WorkloadMtls {
  const applied = applicablePolicies(policies, rootNamespace, workload);
  let mode: MtlsMode = 'PERMISSIVE';
  for (const level of [applied.mesh, applied.namespace, applied.workload]) mode = setMode(level?.spec.mtls?.mode) ?? mode;
  const perPort = new Map<number, MtlsMode>();
  for (const [port, setting] of Object.entries(applied.workload?.spec.portLevelMtls ?? {})) perPort.set(Number(port), setMode(setting?.mode) ?? mode);
  return { mode, perPort };
}

export function portMtls(mtls: WorkloadMtls, port: number): MtlsMode {
  return mtls.perPort.get(port) ?? mtls.mode;
}

/**
 * Istio's BestEffortInferServiceMTLSMode without a DestinationRule: a service whose namespace (or the
 * mesh, failing that) disables mTLS gets no auto mTLS. Workload policies are not consulted (they
 * differ per endpoint, which the endpoints' own tlsMode metadata covers).
 */
export function serviceMtlsDisabled(policies: readonly Policy[], rootNamespace: string, namespace: string): boolean {
  const applied = applicablePolicies(policies, rootNamespace, { namespace, labels: {} });
  let mode: MtlsMode | undefined;
  for (const level of [applied.mesh, applied.namespace]) mode = setMode(level?.spec.mtls?.mode) ?? mode;
  return mode === 'DISABLE';
}

/** One entry per workload the registry knows (a pod backing several services appears once). */
function knownWorkloads(endpoints: Iterable<MeshEndpoint>): MeshEndpoint[] {
  const seen = new Map<string, MeshEndpoint>();
  for (const e of endpoints) {
    const key = `${e.cluster}/${e.namespace}/${e.podName ?? e.address}`;
    if (!seen.has(key)) seen.set(key, e);
  }
  return [...seen.values()];
}

const refOf = (p: Policy) => ({ kind: 'PeerAuthentication' as const, name: p.name, namespace: p.namespace });

/**
 * Analyzer checks: several namespace-wide (or mesh-wide) policies in one namespace, several workload
 * policies selecting one workload (only the oldest applies, as in Istio), and selectors that match no
 * workload the registry knows.
 */
export function checkPeerAuthentications(ctx: TranslationContext, problems: ProblemLog): void {
  const policies = ctx.peerAuthentications;
  const namespaces = new Set(policies.map((p) => p.namespace));
  for (const namespace of namespaces) {
    const wide = policies.filter((p) => p.namespace === namespace && !hasSelector(p)).sort(compareByCreation);
    for (const later of wide.slice(1)) {
      const scope = namespace === ctx.rootNamespace ? 'mesh-wide (root namespace)' : `namespace-wide in ${namespace}`;
      problems.add(problemAt(refOf(later), 'warning', 'conflicting-peer-authentications', 'spec.selector',
        `PeerAuthentication ${wide[0]!.name} is also ${scope} and older, so this one does not apply (Istio uses the oldest). Keep one policy without a selector per namespace.`));
    }
  }
  const workloads = knownWorkloads([...ctx.endpointsByHost.values()].flat());
  for (const policy of policies.filter(hasSelector)) {
    const selector = policy.spec.selector?.matchLabels;
    const selected = workloads.filter((w) => w.namespace === policy.namespace && labelsMatch(selector, w.labels));
    if (policy.namespace === ctx.rootNamespace) {
      problems.add(problemAt(refOf(policy), 'warning', 'unsupported', 'spec.selector',
        `a selector in the root namespace ${ctx.rootNamespace} applies to no workload outside it (Istio ignores it); move the policy to the workloads' namespace, or drop the selector to make it mesh-wide.`));
      continue;
    }
    if (selected.length === 0) {
      problems.add(problemAt(refOf(policy), 'info', 'no-matching-workloads', 'spec.selector.matchLabels',
        `no workload in namespace ${policy.namespace} has labels ${JSON.stringify(selector)} (of the pods that back a service); this policy applies to nothing yet.`));
      continue;
    }
    for (const w of selected) {
      const winner = applicablePolicies(policies, ctx.rootNamespace, w).workload;
      if (winner && winner !== policy) {
        problems.add(problemAt(refOf(policy), 'warning', 'conflicting-peer-authentications', 'spec.selector',
          `workload ${w.podName ?? w.address} (cluster ${w.cluster}) is also selected by the older PeerAuthentication ${winner.name}, which applies instead of this one (Istio uses the oldest). Make the selectors disjoint.`));
        break;
      }
    }
  }
}
