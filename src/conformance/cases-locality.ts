// Conformance cases: locality load balancing: priorities, spill-over by health (overprovisioning
// factor 1.4), panic per priority, locality weights. Hand-written load assignments, the shape the
// translator's localityLbSetting produces; shares judged by chi-square.

import type { ConformanceCase } from './case.js';
import { withLocalities } from './case-builders.js';

const LOCALITY_WEIGHTED = { common_lb_config: { locality_weighted_lb_config: {} } };
/** Retries of 5xx, leaving the priorities tried every `every` attempts (Istio's retryRemoteLocalities writes 2). */
const retryRemote = (every: number) => ({
  retry_policy: {
    retry_on: '5xx',
    num_retries: { value: 2 },
    retry_priority: { name: 'envoy.retry_priorities.previous_priorities', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig', update_frequency: every } },
  },
});
const request = { path: '/' };

export const LOCALITY_CASES: ConformanceCase[] = [
  {
    name: 'locality: a healthy priority 0 takes everything; priority 1 is not used',
    resources: withLocalities([{ zone: 'near', hosts: ['a', 'b'] }, { zone: 'far', priority: 1, hosts: ['c'] }]),
    distribution: { request, count: 200, weights: { 'upstream:a': 50, 'upstream:b': 50 } },
  },
  {
    name: 'locality: priority 0 wholly UNHEALTHY (readiness): everything spills to priority 1',
    resources: withLocalities([{ zone: 'near', hosts: ['a:UNHEALTHY', 'b:UNHEALTHY'] }, { zone: 'far', priority: 1, hosts: ['c'] }]),
    requests: Array.from({ length: 12 }, () => request),
  },
  {
    name: 'locality: priority 0 with 2 of 5 healthy (health 2/5 x 1.4 = 56 %): 56 % stays, 44 % spills to priority 1, chi-square',
    resources: withLocalities([
      { zone: 'near', hosts: ['a', 'b', 'c:UNHEALTHY', 'shadow:UNHEALTHY', 'broken:UNHEALTHY'] },
      { zone: 'far', priority: 1, hosts: ['d'] },
    ]),
    distribution: { request, count: 500, weights: { 'upstream:a': 28, 'upstream:b': 28, 'upstream:d': 44 } },
  },
  {
    name: 'locality: three priorities, 0 and 1 partly healthy (1/4 x 1.4 = 35 % each): 35/35/30, chi-square',
    resources: withLocalities([
      { zone: 'near', hosts: ['a', 'b:UNHEALTHY', 'c:UNHEALTHY', 'broken:UNHEALTHY'] },
      { zone: 'region', priority: 1, hosts: ['d', 'shadow:UNHEALTHY', 'h2:UNHEALTHY', 'grpc:UNHEALTHY'] },
      { zone: 'far', priority: 2, hosts: ['e'] },
    ]),
    distribution: { request, count: 500, weights: { 'upstream:a': 35, 'upstream:d': 35, 'upstream:e': 30 } },
  },
  {
    name: 'locality: panic (1 of 3 healthy, under the default 50 %) balances over every host of the priority, chi-square',
    resources: withLocalities([{ zone: 'near', hosts: ['a', 'b:UNHEALTHY', 'c:UNHEALTHY'] }]),
    distribution: { request, count: 300, weights: { 'upstream:a': 1, 'upstream:b': 1, 'upstream:c': 1 } },
  },
  {
    name: 'locality: healthy_panic_threshold 0 turns panic off: only the healthy host',
    resources: withLocalities([{ zone: 'near', hosts: ['a', 'b:UNHEALTHY', 'c:UNHEALTHY'] }], { common_lb_config: { healthy_panic_threshold: { value: 0 } } }),
    requests: Array.from({ length: 9 }, () => request),
  },
  {
    name: 'locality: every priority in panic: load by host count (1 and 3 hosts: 25/75), all hosts, chi-square',
    resources: withLocalities([
      { zone: 'near', hosts: ['a:UNHEALTHY'] },
      { zone: 'far', priority: 1, hosts: ['b:UNHEALTHY', 'c:UNHEALTHY', 'd:UNHEALTHY'] },
    ]),
    distribution: { request, count: 400, weights: { 'upstream:a': 25, 'upstream:b': 25, 'upstream:c': 25, 'upstream:d': 25 } },
  },
  {
    name: 'locality: locality_weighted_lb_config, weights 1 and 3: 25/75, chi-square',
    resources: withLocalities([{ zone: 'one', weight: 1, hosts: ['a'] }, { zone: 'three', weight: 3, hosts: ['b'] }], LOCALITY_WEIGHTED),
    distribution: { request, count: 400, weights: { 'upstream:a': 25, 'upstream:b': 75 } },
  },
  {
    name: 'locality: locality weights scale by health x 1.4 (1 x 0.7 against 1 x 1: 41/59), chi-square',
    resources: withLocalities([{ zone: 'half', weight: 1, hosts: ['a', 'b:UNHEALTHY'] }, { zone: 'whole', weight: 1, hosts: ['c'] }], LOCALITY_WEIGHTED),
    distribution: { request, count: 400, weights: { 'upstream:a': 0.7, 'upstream:c': 1 } },
  },
  {
    name: 'locality: without locality_weighted_lb_config locality weights change nothing (per-host round robin), chi-square',
    resources: withLocalities([{ zone: 'one', weight: 1, hosts: ['a', 'b'] }, { zone: 'three', weight: 3, hosts: ['c'] }]),
    distribution: { request, count: 300, weights: { 'upstream:a': 1, 'upstream:b': 1, 'upstream:c': 1 } },
  },
  ...[1, 2].map((every): ConformanceCase => ({
    name: `locality: retry_priority previous_priorities (update_frequency ${every}): a retry leaves a failing priority 0 for priority 1`,
    resources: withLocalities([{ zone: 'near', hosts: ['broken'] }, { zone: 'far', priority: 1, hosts: ['a'] }], {}, retryRemote(every)),
    requests: Array.from({ length: 4 }, () => request),
    check: (o, target) => {
      if (o.status !== 200 || o.upstream !== 'a') throw new Error(`${target}: expected the retry to reach priority 1 (upstream a), got ${o.status} from ${o.upstream}`);
      if (o.upstreamSaw?.attempt !== 1) throw new Error(`${target}: upstream a saw attempt ${o.upstreamSaw?.attempt}`);
    },
  })),
];
