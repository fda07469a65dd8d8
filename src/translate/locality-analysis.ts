// What `analyze` says about locality load balancing: where it acts differently from Istio (failover
// by readiness without outlierDetection) and where a setting cannot change anything yet.

import type { DestinationRule, TrafficPolicy } from '../config/istio-types.js';
import type { IstioObject, MeshEndpoint } from '../registry/model.js';
import { destinationRuleFor, ruleIncludes, type TranslationContext } from './context.js';
import { endpointSelectorLabels, localityLbPlan, rulePolicies, topologyLabels } from './locality-lb.js';
import { labelsMatch } from './names.js';
import { problemAt } from '../config/problems.js';

function localityString(e: MeshEndpoint): string {
  return [e.locality.region, e.locality.zone, e.locality.subZone].filter((p) => p !== undefined && p !== '').join('/');
}

/** Where the endpoints the policy governs differ in what the setting compares (locality, failoverPriority labels). */
function placesOf(endpoints: readonly MeshEndpoint[], failoverPriority: readonly string[]): Set<string> {
  const labels = failoverPriority.map((entry) => entry.split('=')[0]);
  return new Set(endpoints.map((e) => {
    const topology = topologyLabels(e.labels, e.locality, e.cluster);
    return JSON.stringify([localityString(e), ...labels.map((l) => topology[l] ?? '')]);
  }));
}

export function checkLocalityLb(ctx: TranslationContext): void {
  for (const rule of ctx.destinationRules) checkRule(ctx, rule);
}

function checkRule(ctx: TranslationContext, rule: IstioObject<DestinationRule>): void {
  const ref = { kind: 'DestinationRule' as const, name: rule.name, namespace: rule.namespace };
  const services = ctx.serviceList.filter((s) => ruleIncludes(destinationRuleFor(ctx, s.hostname, undefined), rule));
  for (const [at, policy] of rulePolicies(rule.spec)) {
    const setting = policy.loadBalancer?.localityLbSetting;
    const plan = localityLbPlan(policy);
    if (setting === undefined || plan === undefined) continue;
    const field = `${at}.loadBalancer.localityLbSetting`;
    const subset = /^spec\.subsets\[(\d+)\]/.exec(at);
    const subsetLabels = subset ? rule.spec.subsets?.[Number(subset[1])]?.labels ?? {} : undefined;
    const endpoints = services.flatMap((s) => (ctx.endpointsByHost.get(s.hostname) ?? []).filter((e) => labelsMatch(subsetLabels, endpointSelectorLabels(e))));
    const places = placesOf(endpoints, setting.failoverPriority ?? []);
    if (endpoints.length > 0 && places.size === 1) {
      const e = endpoints[0];
      ctx.problems.add(problemAt(ref, 'warning', 'locality-lb-no-effect', field,
        `every endpoint this setting governs runs in locality ${localityString(e)} of cluster ${e.cluster}` +
          `${(setting.failoverPriority ?? []).length > 0 ? ' with the same failoverPriority label values' : ''}, so it changes nothing ` +
          'until endpoints run elsewhere: there is nowhere to fail over to.'));
    }
    const distributes = (setting.distribute?.length ?? 0) > 0;
    if (!distributes && !hasOutlierDetection(rule.spec, at, policy)) {
      ctx.problems.add(problemAt(ref, 'info', 'locality-failover-by-readiness', field,
        'locality failover applies without outlierDetection: endpoints in the caller\'s locality get priority 0, and traffic moves ' +
          'to the next priority as they stop being ready (Kubernetes readiness). Istio would not fail over at all without ' +
          'outlierDetection (istio#48084). Requests in flight while local endpoints stop, before they are marked unready, ' +
          'fail unless retries may leave the locality (VirtualService retries.retryRemoteLocalities: true); add outlierDetection ' +
          'to also fail over from endpoints that answer with errors while ready.'));
    }
  }
}

/** outlierDetection in the same policy, or inherited from the rule's top level (a subset or port inherits it). */
function hasOutlierDetection(rule: DestinationRule, at: string, policy: TrafficPolicy): boolean {
  if (policy.outlierDetection) return true;
  if (at.startsWith('spec.subsets[')) {
    const index = Number(/^spec\.subsets\[(\d+)\]/.exec(at)?.[1]);
    if (rule.subsets?.[index]?.trafficPolicy?.outlierDetection) return true;
  }
  return rule.trafficPolicy?.outlierDetection !== undefined;
}
