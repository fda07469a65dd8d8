// Analyzer check across DestinationRules and PeerAuthentications: a client told to send plaintext
// (DISABLE) or its own TLS (SIMPLE, MUTUAL) to a workload whose PeerAuthentication is STRICT cannot
// reach it (Istio's IST0113 MTLSPolicyConflict): the server accepts mesh mTLS only.

import { effectivePolicy } from './clusters.js';
import { meshTlsEndpoint } from './cluster-tls.js';
import { destinationRuleFor, type TranslationContext } from './context.js';
import { endpointPortKey, labelsMatch } from './names.js';
import { portMtls, workloadMtls } from './peer-authentication.js';
import { problemAt } from '../config/problems.js';

export function checkTlsAgainstStrictPeers(ctx: TranslationContext): void {
  if (ctx.peerAuthentications.length === 0) return;
  for (const service of ctx.serviceList) {
    const rule = destinationRuleFor(ctx, service.hostname, undefined);
    if (!rule) continue;
    const endpoints = (ctx.endpointsByHost.get(service.hostname) ?? []).filter(meshTlsEndpoint);
    const variants: Array<{ subset?: string; labels?: Record<string, string>; field: string }> = [{ field: 'spec.trafficPolicy' }];
    (rule.spec.subsets ?? []).forEach((s, i) => variants.push({ subset: s.name, labels: s.labels ?? {}, field: `spec.subsets[${i}].trafficPolicy` }));
    for (const port of service.ports) {
      for (const v of variants) {
        const tls = effectivePolicy(rule.spec, v.subset, port.port).tls;
        const mode = tls ? tls.mode ?? 'DISABLE' : undefined;
        if (mode === undefined || mode === 'ISTIO_MUTUAL') continue;
        const strict = endpoints.find((e) => {
          const target = e.ports[endpointPortKey(port)];
          return target !== undefined && labelsMatch(v.labels, e.labels) && portMtls(workloadMtls(ctx.peerAuthentications, ctx.rootNamespace, e), target) === 'STRICT';
        });
        if (!strict) continue;
        ctx.problems.add(problemAt({ kind: 'DestinationRule', name: rule.name, namespace: rule.namespace }, 'error', 'mtls-policy-conflict', `${v.field}.tls.mode`,
          `tls mode ${mode} to ${service.hostname}:${port.port}${v.subset ? ` (subset ${v.subset})` : ''}, but workload ${strict.podName ?? strict.address} ` +
            `accepts only mesh mTLS (its PeerAuthentication is STRICT): these requests fail. Use ISTIO_MUTUAL (or no tls), or relax the PeerAuthentication.`));
      }
    }
  }
}
