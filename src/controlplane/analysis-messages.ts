// The analyzer message types of the translator's problems: Istio's own (IST codes, with the name and
// documentation page Istio gives them) where one matches, MW codes for checks Istio has no code for.
// `meshwork analyze` prints the codes; the control plane writes them to the objects' status.

import type { ProblemCode } from '../config/problems.js';

export interface MessageType {
  /** `IST0101`, or `MW0001` for a meshwork-only check. */
  code: string;
  /** Istio's human-readable name of the type, e.g. `ReferencedResourceNotFound`. */
  name: string;
}

const IST0101: MessageType = { code: 'IST0101', name: 'ReferencedResourceNotFound' };
const IST0106: MessageType = { code: 'IST0106', name: 'SchemaValidationError' };
const IST0109: MessageType = { code: 'IST0109', name: 'ConflictingMeshGatewayVirtualServiceHosts' };
const IST0112: MessageType = { code: 'IST0112', name: 'VirtualServiceDestinationPortSelectorRequired' };

/** Duplicate subset names are IST0106 too: Istio's webhook rejects them. */
const TYPES: Record<ProblemCode, MessageType> = {
  'unknown-host': IST0101,
  'unknown-subset': IST0101,
  'unknown-port': IST0101,
  'unknown-gateway': IST0101,
  'unknown-credential': IST0101,
  'invalid-credential': { code: 'IST0161', name: 'InvalidGatewayCredential' },
  'ambiguous-port': IST0112,
  'duplicate-domain': IST0109,
  'duplicate-host': IST0109,
  'duplicate-subset': IST0106,
  'zero-total-weight': IST0106,
  'negative-weight': IST0106,
  'invalid-duration': IST0106,
  'invalid-match': IST0106,
  'invalid-percentage': IST0106,
  'invalid-route': IST0106,
  'invalid-config': IST0106,
  unsupported: { code: 'MW0001', name: 'UnsupportedField' },
  'unsupported-by-proxyless': { code: 'MW0002', name: 'UnsupportedByProxylessGrpc' },
  'config-diverges-between-clusters': { code: 'MW0003', name: 'ConfigDivergesBetweenClusters' },
  'subset-selects-nothing': { code: 'MW0004', name: 'SubsetSelectsNoEndpoints' },
  'invalid-annotation': { code: 'IST0125', name: 'InvalidAnnotation' },
  'locality-failover-by-readiness': { code: 'MW0005', name: 'LocalityFailoverByReadiness' },
  'locality-lb-no-effect': { code: 'MW0006', name: 'LocalityLbSettingHasNoEffect' },
  'invalid-delegate': { code: 'MW0013', name: 'InvalidDelegate' },
  'server-without-route': { code: 'MW0010', name: 'GatewayServerWithoutRoute' },
  'conflicting-sidecar-selectors': { code: 'IST0110', name: 'ConflictingSidecarWorkloadSelectors' },
  'multiple-sidecars-without-selector': { code: 'IST0111', name: 'MultipleSidecarsWithoutWorkloadSelectors' },
  'no-matching-workloads': { code: 'IST0127', name: 'NoMatchingWorkloadsFound' },
  'authz-unsupported': { code: 'MW0014', name: 'UnsupportedAuthorizationPolicy' },
  'mtls-policy-conflict': { code: 'IST0113', name: 'MTLSPolicyConflict' },
  'conflicting-peer-authentications': { code: 'MW0015', name: 'ConflictingPeerAuthentications' },
  'traffic-annotations-not-applied': { code: 'MW0016', name: 'TrafficAnnotationsNotApplied' },
};

/** A code a newer control plane reports and this build does not know yet. */
const UNKNOWN: MessageType = { code: 'MW0000', name: 'Unknown' };

export function messageType(code: ProblemCode): MessageType {
  return Object.hasOwn(TYPES, code) ? TYPES[code] : UNKNOWN;
}

/**
 * Istio's page for an IST code (`url.ConfigAnalysis` + the lower-case code), on istio.io's `latest`
 * docs as Meshwork follows no Istio release. MW codes have no page there: undefined.
 */
export function documentationUrl(type: MessageType): string | undefined {
  return type.code.startsWith('IST') ? `https://istio.io/latest/docs/reference/config/analysis/${type.code.toLowerCase()}/` : undefined;
}
