// The intent, case by case: Istio config as YAML, a registry of services and endpoints, a client pod
// and a request -> shares by version, member cluster and instance, or the reason there are none.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import type { DestinationRule, Gateway, ServiceEntry, VirtualService } from '../../config/istio-types.js';
import type { IstioObject, MeshServicePort } from '../../registry/model.js';
import { groupShares, type SplitDimension } from '../expected-split.js';
import { deriveIntent } from './derive.js';
import type { AppliedConfig, Intent, IntentInput, IntentRequest, KnownEndpoint, KnownService } from './model.js';

const HTTP: MeshServicePort[] = [{ name: 'http', port: 5000, protocol: 'TCP' }];

function service(name: string, namespace: string, ports: MeshServicePort[] = HTTP): KnownService {
  return { hostname: `${name}.${namespace}.svc.cluster.local`, name, namespace, ports };
}

let nextIp = 2;
function endpoint(service: string, namespace: string, pod: string, labels: Record<string, string>, cluster: string, opts: { ready?: boolean; ports?: Record<string, number> } = {}): KnownEndpoint {
  return {
    hostname: `${service}.${namespace}.svc.cluster.local`,
    cluster,
    address: `127.${cluster === 'cluster-2' ? 20 : 10}.0.${nextIp++}`,
    ports: opts.ports ?? { http: 5000 },
    labels,
    ready: opts.ready ?? true,
    podName: pod,
  };
}

/** VirtualServices, DestinationRules, ServiceEntries and Gateways from YAML; `metadata.namespace` defaults to sample. */
function config(yaml = ''): AppliedConfig {
  const out = { virtualServices: [] as IstioObject<VirtualService>[], destinationRules: [] as IstioObject<DestinationRule>[], serviceEntries: [] as IstioObject<ServiceEntry>[], gateways: [] as IstioObject<Gateway>[] };
  for (const doc of parseAllDocuments(yaml)) {
    const o = doc.toJS() as { kind: string; metadata: { name: string; namespace?: string; creationTimestamp?: string }; spec: never } | null;
    if (!o) continue;
    const object = { name: o.metadata.name, namespace: o.metadata.namespace ?? 'sample', spec: o.spec, cluster: 'cluster-1', ...(o.metadata.creationTimestamp ? { creationTimestamp: o.metadata.creationTimestamp } : {}) };
    if (o.kind === 'VirtualService') out.virtualServices.push(object);
    else if (o.kind === 'DestinationRule') out.destinationRules.push(object);
    else if (o.kind === 'ServiceEntry') out.serviceEntries.push(object);
    else if (o.kind === 'Gateway') out.gateways.push(object);
    else throw new Error(`test config: kind ${o.kind}`);
  }
  return out;
}

/** The scenario: helloworld v1 in cluster-1, v2 in cluster-2, one pod each; sleep in sample. */
const HELLO_ENDPOINTS = [endpoint('helloworld', 'sample', 'helloworld-v1-a', { app: 'helloworld', version: 'v1' }, 'cluster-1'), endpoint('helloworld', 'sample', 'helloworld-v2-a', { app: 'helloworld', version: 'v2' }, 'cluster-2')];
const SLEEP = { namespace: 'sample', labels: { app: 'sleep' } };
const HELLO: IntentRequest = { host: 'helloworld.sample:5000', path: '/hello' };

const SUBSETS_DR = `
kind: DestinationRule
metadata: {name: helloworld}
spec:
  host: helloworld
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`;
const canary = (w1: number, w2: number, extra = ''): string => `
kind: VirtualService
metadata: {name: helloworld}
spec:
  hosts: [helloworld]
  http:
  - route:
    - {destination: {host: helloworld, subset: v1}, weight: ${w1}}
    - {destination: {host: helloworld, subset: v2}, weight: ${w2}}
${extra}
---
${SUBSETS_DR}`;

interface Case {
  name: string;
  yaml?: string;
  request?: Partial<IntentRequest>;
  source?: IntentInput['source'];
  services?: KnownService[];
  endpoints?: KnownEndpoint[];
  /** Expected shares of the succeeding requests, by dimension. */
  expect?: Partial<Record<SplitDimension, Record<string, number>>>;
  failShare?: number;
  /** Reason the intent is not derived. */
  underived?: RegExp;
  notes?: RegExp;
  virtualService?: string;
}

function run(c: Case): Intent {
  return deriveIntent({
    config: config(c.yaml),
    services: c.services ?? [service('helloworld', 'sample'), service('sleep', 'sample', [{ name: 'http', port: 80, protocol: 'TCP' }])],
    endpoints: c.endpoints ?? HELLO_ENDPOINTS,
    source: c.source ?? SLEEP,
    request: { ...HELLO, ...c.request },
  });
}

const rounded = (m: Map<string, number>): Record<string, number> => Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));

function check(c: Case): void {
  const intent = run(c);
  if (c.underived) {
    assert.equal(intent.derived, false, `${c.name}: expected no intent, got ${JSON.stringify(intent)}`);
    assert.match(intent.derived ? '' : intent.reason, c.underived, c.name);
    return;
  }
  assert.ok(intent.derived, `${c.name}: ${intent.derived ? '' : intent.reason}`);
  for (const [by, shares] of Object.entries(c.expect ?? {}) as Array<[SplitDimension, Record<string, number>]>) {
    assert.deepEqual(rounded(groupShares(intent, by)), shares, `${c.name}, by ${by}`);
  }
  assert.ok(Math.abs(intent.failShare - (c.failShare ?? 0)) < 1e-9, `${c.name}: failShare ${intent.failShare}`);
  if (c.notes) assert.match(intent.notes.join('\n'), c.notes, c.name);
  if (c.virtualService !== undefined) assert.equal(intent.virtualService ?? '', c.virtualService, c.name);
}

describe('intent: weights', () => {
  const cases: Case[] = [
    { name: 'no VirtualService: the service\'s endpoints evenly', expect: { version: { v1: 0.5, v2: 0.5 }, cluster: { 'cluster-1': 0.5, 'cluster-2': 0.5 }, instance: { 'helloworld-v1-a': 0.5, 'helloworld-v2-a': 0.5 } }, virtualService: '' },
    { name: 'the scenario\'s 80/20', yaml: canary(80, 20), expect: { version: { v1: 0.8, v2: 0.2 }, cluster: { 'cluster-1': 0.8, 'cluster-2': 0.2 } }, virtualService: 'sample/helloworld' },
    { name: 'weights are relative: 1 and 3', yaml: canary(1, 3), expect: { version: { v1: 0.25, v2: 0.75 } } },
    {
      name: 'subsets selecting a member cluster by topology.istio.io/cluster (Istio augments endpoint labels)',
      yaml: `kind: VirtualService\nmetadata: {name: helloworld}\nspec: {hosts: [helloworld], http: [{route: [{destination: {host: helloworld, subset: cluster-1}, weight: 75}, {destination: {host: helloworld, subset: cluster-2}, weight: 25}]}]}\n---\nkind: DestinationRule\nmetadata: {name: helloworld}\nspec: {host: helloworld, subsets: [{name: cluster-1, labels: {topology.istio.io/cluster: cluster-1}}, {name: cluster-2, labels: {topology.istio.io/cluster: cluster-2}}]}`,
      expect: { cluster: { 'cluster-1': 0.75, 'cluster-2': 0.25 } },
    },
    { name: 'a weight of 0 gets nothing', yaml: canary(0, 10), expect: { version: { v2: 1 } } },
    { name: 'weights summing to 0 are refused', yaml: canary(0, 0), underived: /weights of its 2 destinations sum to 0/ },
    {
      name: 'a single destination without weight takes everything',
      yaml: `kind: VirtualService\nmetadata: {name: helloworld}\nspec: {hosts: [helloworld], http: [{route: [{destination: {host: helloworld, subset: v2}}]}]}\n---\n${SUBSETS_DR}`,
      expect: { version: { v2: 1 } },
    },
    {
      name: 'a destination\'s share spreads evenly over its endpoints, across clusters',
      yaml: canary(60, 40),
      endpoints: [
        ...HELLO_ENDPOINTS,
        endpoint('helloworld', 'sample', 'helloworld-v1-b', { app: 'helloworld', version: 'v1' }, 'cluster-1'),
        endpoint('helloworld', 'sample', 'helloworld-v1-c', { app: 'helloworld', version: 'v1' }, 'cluster-2'),
      ],
      expect: { version: { v1: 0.6, v2: 0.4 }, cluster: { 'cluster-1': 0.4, 'cluster-2': 0.6 }, instance: { 'helloworld-v1-a': 0.2, 'helloworld-v1-b': 0.2, 'helloworld-v1-c': 0.2, 'helloworld-v2-a': 0.4 } },
    },
    {
      name: 'endpoints that are not ready get nothing',
      endpoints: [...HELLO_ENDPOINTS, endpoint('helloworld', 'sample', 'helloworld-v2-b', { version: 'v2' }, 'cluster-2', { ready: false })],
      expect: { instance: { 'helloworld-v1-a': 0.5, 'helloworld-v2-a': 0.5 } },
      notes: /1 of 3 endpoints are not ready/,
    },
  ];
  for (const c of cases) it(c.name, () => check(c));
});

describe('intent: shares that fail', () => {
  const cases: Case[] = [
    {
      name: 'a subset the DestinationRule does not define: its share fails, the rest as declared',
      yaml: canary(80, 20).replace('subset: v2', 'subset: v3'),
      expect: { version: { v1: 1 } },
      failShare: 0.2,
      notes: /subset v3 is not defined in DestinationRule sample\/helloworld \(it defines v1, v2\): its 20% of requests fail with 503/,
    },
    {
      name: 'a subset with no DestinationRule at all',
      yaml: canary(80, 20).split('---')[0],
      failShare: 1,
      notes: /subset v1 of helloworld\.sample\.svc\.cluster\.local: no DestinationRule applies/,
    },
    { name: 'a subset without endpoints', yaml: canary(80, 20), endpoints: [HELLO_ENDPOINTS[0]], expect: { version: { v1: 1 } }, failShare: 0.2, notes: /subset v2 has no endpoints/ },
    {
      name: 'a destination host that is no service',
      yaml: `kind: VirtualService\nmetadata: {name: helloworld}\nspec: {hosts: [helloworld], http: [{route: [{destination: {host: nosuch}, weight: 50}, {destination: {host: helloworld}, weight: 50}]}]}`,
      expect: { version: { v1: 0.5, v2: 0.5 } },
      failShare: 0.5,
      notes: /no service nosuch\.sample\.svc\.cluster\.local in the mesh/,
    },
    {
      name: 'a destination port the service does not have',
      yaml: `kind: VirtualService\nmetadata: {name: helloworld}\nspec: {hosts: [helloworld], http: [{route: [{destination: {host: helloworld, port: {number: 6000}}}]}]}`,
      failShare: 1,
      notes: /has no port 6000/,
    },
    {
      name: 'no route matches: the sidecar answers 404',
      yaml: `kind: VirtualService\nmetadata: {name: helloworld}\nspec: {hosts: [helloworld], http: [{match: [{uri: {prefix: /api}}], route: [{destination: {host: helloworld}}]}]}`,
      failShare: 1,
      notes: /no route of VirtualService sample\/helloworld matches helloworld\.sample:5000\/hello: the sidecar answers 404/,
    },
  ];
  for (const c of cases) it(c.name, () => check(c));
});

describe('intent: which route', () => {
  const routes = (first: string): string => `
kind: VirtualService
metadata: {name: helloworld}
spec:
  hosts: [helloworld]
  http:
  - match: [${first}]
    route: [{destination: {host: helloworld, subset: v2}}]
  - route: [{destination: {host: helloworld, subset: v1}}]
---
${SUBSETS_DR}`;
  const cases: Case[] = [
    { name: 'routes in order: a prefix that does not match falls through', yaml: routes('{uri: {prefix: /api}}'), expect: { version: { v1: 1 } } },
    { name: 'a matching prefix wins', yaml: routes('{uri: {prefix: /api}}'), request: { path: '/api/x' }, expect: { version: { v2: 1 } } },
    { name: 'exact path, query ignored', yaml: routes('{uri: {exact: /hello}}'), request: { path: '/hello?x=1' }, expect: { version: { v2: 1 } } },
    { name: 'exact path differs', yaml: routes('{uri: {exact: /hell}}'), expect: { version: { v1: 1 } } },
    { name: 'regex matches the whole path', yaml: routes('{uri: {regex: "/h.*o"}}'), expect: { version: { v2: 1 } } },
    { name: 'regex not anchored by the user still matches whole', yaml: routes('{uri: {regex: "/hel"}}'), expect: { version: { v1: 1 } } },
    { name: 'ignoreUriCase', yaml: routes('{uri: {exact: /HELLO}, ignoreUriCase: true}'), expect: { version: { v2: 1 } } },
    { name: 'a header the request has', yaml: routes('{headers: {end-user: {exact: jason}}}'), request: { headers: { 'End-User': 'jason' } }, expect: { version: { v2: 1 } } },
    { name: 'a header the request lacks', yaml: routes('{headers: {end-user: {exact: jason}}}'), expect: { version: { v1: 1 } } },
    { name: 'header presence ({})', yaml: routes('{headers: {end-user: {}}}'), request: { headers: { 'end-user': 'x' } }, expect: { version: { v2: 1 } } },
    { name: 'withoutHeaders', yaml: routes('{withoutHeaders: {end-user: {}}}'), expect: { version: { v2: 1 } } },
    { name: 'withoutHeaders regex "*" is presence (Istio), not RE2', yaml: routes('{withoutHeaders: {end-user: {regex: "*"}}}'), request: { headers: { 'end-user': 'x' } }, expect: { version: { v1: 1 } } },
    { name: 'withoutHeaders by value: a missing header counts as empty (treat_missing_header_as_empty)', yaml: routes('{withoutHeaders: {end-user: {regex: ".*"}}}'), expect: { version: { v1: 1 } } },
    { name: 'a header whose value is unknown cannot be decided', yaml: routes('{headers: {user-agent: {prefix: curl}}}'), request: { unknownHeaders: ['user-agent'] }, underived: /tests header user-agent, whose value the client sends but is not known/ },
    { name: 'method', yaml: routes('{method: {exact: POST}}'), expect: { version: { v1: 1 } } },
    { name: 'authority', yaml: routes('{authority: {prefix: helloworld.sample}}'), expect: { version: { v2: 1 } } },
    { name: 'queryParams', yaml: routes('{queryParams: {canary: {exact: "yes"}}}'), request: { path: '/hello?canary=yes' }, expect: { version: { v2: 1 } } },
    { name: 'one of several matches suffices', yaml: routes('{uri: {prefix: /api}}, {uri: {prefix: /hel}}'), expect: { version: { v2: 1 } } },
    { name: 'sourceLabels of another workload: the route is not this client\'s', yaml: routes('{sourceLabels: {app: other}}'), expect: { version: { v1: 1 } } },
    { name: 'sourceLabels of this client', yaml: routes('{sourceLabels: {app: sleep}}'), expect: { version: { v2: 1 } } },
    { name: 'sourceNamespace', yaml: routes('{sourceNamespace: sample}'), expect: { version: { v2: 1 } } },
    { name: 'a match bound to a gateway only is not the sidecar\'s', yaml: routes('{gateways: [helloworld-gateway]}'), expect: { version: { v1: 1 } } },
    { name: 'a match on another port', yaml: routes('{port: 6000}'), expect: { version: { v1: 1 } } },
    {
      name: 'no route for this client at all: the service\'s default route',
      yaml: `kind: VirtualService\nmetadata: {name: helloworld}\nspec: {hosts: [helloworld], http: [{match: [{sourceLabels: {app: other}}], route: [{destination: {host: helloworld, subset: v1}}]}]}\n---\n${SUBSETS_DR}`,
      expect: { version: { v1: 0.5, v2: 0.5 } },
      notes: /has no route for this client .* the service's default route applies/,
      virtualService: '',
    },
  ];
  for (const c of cases) it(c.name, () => check(c));
});

describe('intent: which VirtualService', () => {
  const vsTo = (name: string, subset: string, opts: { hosts?: string; namespace?: string; created?: string; exportTo?: string; gateways?: string } = {}): string => `
kind: VirtualService
metadata: {name: ${name}, namespace: ${opts.namespace ?? 'sample'}${opts.created ? `, creationTimestamp: "${opts.created}"` : ''}}
spec:
  hosts: ${opts.hosts ?? '[helloworld]'}
  ${opts.exportTo ? `exportTo: ${opts.exportTo}` : ''}
  ${opts.gateways ? `gateways: ${opts.gateways}` : ''}
  http: [{route: [{destination: {host: helloworld.sample.svc.cluster.local, subset: ${subset}}}]}]
---`;
  const cases: Case[] = [
    { name: 'the FQDN as host', yaml: vsTo('a', 'v2', { hosts: '[helloworld.sample.svc.cluster.local]' }) + SUBSETS_DR, expect: { version: { v2: 1 } } },
    { name: 'a dotted short form is not expanded: it names no service', yaml: vsTo('a', 'v2', { hosts: '[helloworld.sample]' }) + SUBSETS_DR, expect: { version: { v1: 0.5, v2: 0.5 } } },
    { name: 'a short name resolves in the VirtualService\'s namespace', yaml: vsTo('a', 'v2', { namespace: 'other' }) + SUBSETS_DR, expect: { version: { v1: 0.5, v2: 0.5 } } },
    { name: 'an exact host beats a wildcard', yaml: vsTo('a', 'v1', { hosts: '["*.sample.svc.cluster.local"]', created: '2024-01-01T00:00:00Z' }) + vsTo('b', 'v2', { created: '2024-02-01T00:00:00Z' }) + SUBSETS_DR, expect: { version: { v2: 1 } }, virtualService: 'sample/b' },
    { name: 'the most specific wildcard wins', yaml: vsTo('a', 'v1', { hosts: '["*.svc.cluster.local"]' }) + vsTo('b', 'v2', { hosts: '["*.sample.svc.cluster.local"]' }) + SUBSETS_DR, expect: { version: { v2: 1 } } },
    { name: 'two for one host: the oldest wins', yaml: vsTo('b', 'v2', { created: '2024-01-01T00:00:00Z' }) + vsTo('a', 'v1', { created: '2024-03-01T00:00:00Z' }) + SUBSETS_DR, expect: { version: { v2: 1 } }, virtualService: 'sample/b' },
    { name: 'same age: by name', yaml: vsTo('b', 'v2') + vsTo('a', 'v1') + SUBSETS_DR, expect: { version: { v1: 1 } }, virtualService: 'sample/a' },
    { name: 'private to the client\'s namespace beats an older public one', yaml: vsTo('a', 'v1', { created: '2024-01-01T00:00:00Z' }) + vsTo('b', 'v2', { exportTo: '["."]', created: '2024-03-01T00:00:00Z' }) + SUBSETS_DR, expect: { version: { v2: 1 } } },
    { name: 'exported elsewhere: not visible', yaml: vsTo('a', 'v2', { exportTo: '[other]' }) + SUBSETS_DR, expect: { version: { v1: 0.5, v2: 0.5 } } },
    { name: 'private to another namespace: not visible', yaml: vsTo('a', 'v2', { namespace: 'other', hosts: '[helloworld.sample.svc.cluster.local]', exportTo: '["."]' }) + SUBSETS_DR, expect: { version: { v1: 0.5, v2: 0.5 } } },
    { name: 'bound to a gateway only: not the sidecar\'s', yaml: vsTo('a', 'v2', { gateways: '[helloworld-gateway]' }) + SUBSETS_DR, expect: { version: { v1: 0.5, v2: 0.5 } } },
    { name: 'bound to the mesh and a gateway', yaml: vsTo('a', 'v2', { gateways: '[mesh, helloworld-gateway]' }) + SUBSETS_DR, expect: { version: { v2: 1 } } },
  ];
  for (const c of cases) it(c.name, () => check(c));
});

describe('intent: DestinationRule precedence', () => {
  // The client is in namespace client; helloworld lives in sample. Each rule maps subset "pick" to one version.
  const rule = (namespace: string, version: string, opts: { exportTo?: string; host?: string; name?: string; created?: string } = {}): string => `
kind: DestinationRule
metadata: {name: ${opts.name ?? `dr-${namespace}`}, namespace: ${namespace}${opts.created ? `, creationTimestamp: "${opts.created}"` : ''}}
spec:
  host: ${opts.host ?? 'helloworld.sample.svc.cluster.local'}
  ${opts.exportTo ? `exportTo: ${opts.exportTo}` : ''}
  subsets: [{name: pick, labels: {version: ${version}}}]
---`;
  const vs = `
kind: VirtualService
metadata: {name: helloworld, namespace: client}
spec: {hosts: [helloworld.sample.svc.cluster.local], http: [{route: [{destination: {host: helloworld.sample.svc.cluster.local, subset: pick}}]}]}
---`;
  const client = { namespace: 'client', labels: { app: 'sleep' } };
  const cases: Case[] = [
    { name: 'the client\'s namespace first', yaml: vs + rule('client', 'v2') + rule('sample', 'v1') + rule('istio-system', 'v1'), expect: { version: { v2: 1 } } },
    { name: 'then the service\'s namespace', yaml: vs + rule('sample', 'v2') + rule('istio-system', 'v1'), expect: { version: { v2: 1 } } },
    { name: 'then the root namespace', yaml: vs + rule('istio-system', 'v2'), expect: { version: { v2: 1 } } },
    { name: 'a rule of the service\'s namespace private to it is skipped', yaml: vs + rule('sample', 'v1', { exportTo: '["."]' }) + rule('istio-system', 'v2'), expect: { version: { v2: 1 } } },
    { name: 'a rule of the service\'s namespace exported to the client by name', yaml: vs + rule('sample', 'v2', { exportTo: '[client]' }) + rule('istio-system', 'v1'), expect: { version: { v2: 1 } } },
    { name: 'a rule in an unrelated namespace does not apply', yaml: vs + rule('elsewhere', 'v2'), failShare: 1, notes: /no DestinationRule applies/ },
    { name: 'the client\'s own rule exported only elsewhere does not apply to it', yaml: vs + rule('client', 'v1', { exportTo: '[sample]' }) + rule('sample', 'v2'), expect: { version: { v2: 1 } } },
    { name: 'within a namespace the exact host beats a wildcard', yaml: vs + rule('sample', 'v1', { host: '"*.sample.svc.cluster.local"', name: 'a' }) + rule('sample', 'v2', { name: 'b' }), expect: { version: { v2: 1 } } },
    {
      name: 'rules for one host merge oldest first: the first definition of a subset wins',
      yaml: vs + rule('sample', 'v2', { name: 'z', created: '2024-01-01T00:00:00Z' }) + rule('sample', 'v1', { name: 'a', created: '2024-02-01T00:00:00Z' }),
      expect: { version: { v2: 1 } },
    },
  ];
  for (const c of cases) it(c.name, () => check({ ...c, source: client }));
});

describe('intent: what is not modelled is said, not guessed', () => {
  const cases: Case[] = [
    { name: 'fault abort', yaml: canary(80, 20, '    fault: {abort: {httpStatus: 500, percentage: {value: 10}}}'), underived: /injects aborts/ },
    { name: 'redirect', yaml: `kind: VirtualService\nmetadata: {name: helloworld}\nspec: {hosts: [helloworld], http: [{redirect: {uri: /x}}]}`, underived: /redirect/ },
    { name: 'consistentHash', yaml: canary(80, 20) + '  trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true}}}', underived: /consistentHash/ },
    { name: 'outlierDetection (locality failover)', yaml: canary(80, 20).replace('{name: v2, labels: {version: v2}}', '{name: v2, labels: {version: v2}, trafficPolicy: {outlierDetection: {consecutive5xxErrors: 5}}}'), underived: /outlierDetection.*locality/ },
    { name: 'localityLbSetting (failover priorities by the client\'s locality)', yaml: canary(80, 20) + '  trafficPolicy: {loadBalancer: {localityLbSetting: {failoverPriority: [topology.istio.io/cluster]}}}', underived: /localityLbSetting: each client prefers endpoints by its own locality/ },
    {
      name: 'localityLbSetting enabled: false with outlierDetection: no locality preference, a note',
      yaml: canary(80, 20) + '  trafficPolicy: {loadBalancer: {localityLbSetting: {enabled: false}}, outlierDetection: {consecutive5xxErrors: 5}}',
      expect: { version: { v1: 0.8, v2: 0.2 } },
      notes: /enabled: false.*outlierDetection ejects failing endpoints/,
    },
    {
      name: 'a subset\'s loadBalancer replaces the rule\'s (its localityLbSetting does not apply there)',
      yaml: canary(80, 20).replace('{name: v2, labels: {version: v2}}', '{name: v2, labels: {version: v2}, trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}}').replace('{name: v1, labels: {version: v1}}', '{name: v1, labels: {version: v1}, trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}}') + '  trafficPolicy: {loadBalancer: {localityLbSetting: {enabled: true}}}',
      expect: { version: { v1: 0.8, v2: 0.2 } },
    },
    { name: 'outlierDetection on a subset not routed to is no matter', yaml: canary(100, 0).replace('{name: v2, labels: {version: v2}}', '{name: v2, labels: {version: v2}, trafficPolicy: {outlierDetection: {consecutive5xxErrors: 5}}}'), expect: { version: { v1: 1 } } },
    { name: 'workloadSelector on the DestinationRule', yaml: canary(80, 20) + '  workloadSelector: {matchLabels: {app: sleep}}', underived: /workloadSelector/ },
    { name: 'mirror: a note, the split stands', yaml: canary(80, 20, '    mirror: {host: helloworld, subset: v2}'), expect: { version: { v1: 0.8, v2: 0.2 } }, notes: /mirrors requests/ },
    { name: 'directResponse', yaml: `kind: VirtualService\nmetadata: {name: helloworld}\nspec: {hosts: [helloworld], http: [{directResponse: {status: 200}}]}`, underived: /answers directly/ },
    { name: 'delegate', yaml: `kind: VirtualService\nmetadata: {name: helloworld}\nspec: {hosts: [helloworld], http: [{delegate: {name: hw-routes}}]}`, underived: /delegates to another VirtualService/ },
    { name: 'corsPolicy: a note, the split stands', yaml: canary(80, 20, '    corsPolicy: {allowOrigins: [{exact: "https://a.example"}]}'), expect: { version: { v1: 0.8, v2: 0.2 } }, notes: /corsPolicy/ },
    { name: 'a Host no service answers to', request: { host: 'nosuch.sample:5000' }, underived: /no service in the mesh answers to Host nosuch\.sample:5000/ },
    { name: 'a port the service does not have', request: { host: 'helloworld.sample:6000' }, underived: /has no port 6000/ },
    { name: 'a TCP port', services: [service('helloworld', 'sample', [{ name: 'tcp-db', port: 5000, protocol: 'TCP' }])], underived: /not HTTP/ },
  ];
  for (const c of cases) it(c.name, () => check(c));
});

describe('intent: Host names and services', () => {
  const cases: Case[] = [
    { name: 'the bare name from the same namespace', request: { host: 'helloworld:5000' }, expect: { version: { v1: 0.5, v2: 0.5 } } },
    { name: 'the bare name from another namespace names nothing', request: { host: 'helloworld:5000' }, source: { namespace: 'other', labels: {} }, underived: /no service/ },
    { name: 'name.namespace.svc from another namespace', request: { host: 'helloworld.sample.svc:5000' }, source: { namespace: 'other', labels: {} }, expect: { version: { v1: 0.5, v2: 0.5 } } },
    {
      name: 'a multi-port service: a destination without port goes to the port the request was sent to',
      yaml: `kind: VirtualService\nmetadata: {name: helloworld}\nspec: {hosts: [helloworld], http: [{route: [{destination: {host: helloworld}}]}]}`,
      services: [service('helloworld', 'sample', [{ name: 'http', port: 5000, protocol: 'TCP' }, { name: 'http-admin', port: 9000, protocol: 'TCP' }])],
      endpoints: [endpoint('helloworld', 'sample', 'hw-admin', { version: 'v9' }, 'cluster-1', { ports: { 'http-admin': 9000 } }), ...HELLO_ENDPOINTS],
      request: { host: 'helloworld.sample:9000' },
      expect: { version: { v9: 1 } },
    },
    {
      name: 'a ServiceEntry host with static endpoints',
      yaml: `
kind: ServiceEntry
metadata: {name: external}
spec:
  hosts: [api.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 192.0.2.1, labels: {version: a}}, {address: 192.0.2.2, labels: {version: b}}]
`,
      request: { host: 'api.example.com', path: '/' },
      expect: { version: { a: 0.5, b: 0.5 }, instance: { '192.0.2.1:80': 0.5, '192.0.2.2:80': 0.5 } },
    },
    {
      name: 'a ServiceEntry with resolution NONE has no endpoints to share over',
      yaml: `kind: ServiceEntry\nmetadata: {name: external}\nspec: {hosts: [api.example.com], ports: [{number: 80, name: http, protocol: HTTP}], resolution: NONE}`,
      request: { host: 'api.example.com', path: '/' },
      underived: /resolution NONE/,
    },
    {
      name: 'a ServiceEntry with a workloadSelector: the matching pods of its namespace, on its port',
      yaml: `kind: ServiceEntry\nmetadata: {name: selected}\nspec: {hosts: [hello.internal.test], ports: [{number: 7000, name: http, protocol: HTTP}], resolution: STATIC, workloadSelector: {labels: {app: helloworld}}}`,
      request: { host: 'hello.internal.test:7000', path: '/' },
      expect: { version: { v1: 0.5, v2: 0.5 } },
    },
    {
      name: 'a ServiceEntry with weighted endpoints: not modelled',
      yaml: `kind: ServiceEntry\nmetadata: {name: external}\nspec: {hosts: [api.example.com], ports: [{number: 80, name: http, protocol: HTTP}], resolution: STATIC, endpoints: [{address: 192.0.2.1, weight: 3}, {address: 192.0.2.2}]}`,
      request: { host: 'api.example.com', path: '/' },
      underived: /weighs its endpoints/,
    },
  ];
  for (const c of cases) it(c.name, () => check(c));
});

describe('intent: from an ingress gateway pod', () => {
  const gatewayPod = { namespace: 'istio-gateway', labels: { istio: 'ingressgateway', app: 'istio-ingressgateway' }, gateway: true };
  const gateway = (hosts = '["*"]', selector = '{istio: ingressgateway}'): string => `
kind: Gateway
metadata: {name: helloworld-gateway}
spec:
  selector: ${selector}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ${hosts}}]
---`;
  const vs = (name: string, route: string, opts: { hosts?: string; gateways?: string; created?: string } = {}): string => `
kind: VirtualService
metadata: {name: ${name}${opts.created ? `, creationTimestamp: "${opts.created}"` : ''}}
spec:
  hosts: ${opts.hosts ?? '["*"]'}
  gateways: ${opts.gateways ?? '[helloworld-gateway]'}
  http: [${route}]
---`;
  const toHello = '{match: [{uri: {exact: /hello}}], route: [{destination: {host: helloworld, port: {number: 5000}}}]}';
  const toSubset = (subset: string, match = ''): string => `{${match}route: [{destination: {host: helloworld, port: {number: 5000}, subset: ${subset}}}]}`;
  const canary = '{match: [{uri: {exact: /hello}}], route: [{destination: {host: helloworld, port: {number: 5000}, subset: v1}, weight: 20}, {destination: {host: helloworld, port: {number: 5000}, subset: v2}, weight: 80}]}';
  const request = { host: '127.11.255.1', path: '/hello' };
  const cases: Case[] = [
    { name: 'the scenario\'s gateway: helloworld over both clusters\' endpoints', yaml: gateway() + vs('helloworld-gateway', toHello), expect: { version: { v1: 0.5, v2: 0.5 } }, virtualService: 'sample/helloworld-gateway' },
    { name: 'the scenario\'s canary: 20/80, subsets from the service\'s namespace', yaml: gateway() + vs('helloworld-gateway', canary) + SUBSETS_DR, expect: { version: { v1: 0.2, v2: 0.8 } } },
    { name: 'a path no route matches: 404', yaml: gateway() + vs('helloworld-gateway', toHello), request: { ...request, path: '/other' }, failShare: 1, notes: /no route of VirtualService sample\/helloworld-gateway matches .*: the gateway answers 404/ },
    { name: 'no Gateway selects the pod', yaml: gateway('["*"]', '{istio: other}') + vs('helloworld-gateway', toHello), underived: /no Gateway selecting this gateway pod/ },
    {
      name: 'VirtualServices for one host merge oldest first, catch-alls last',
      yaml: gateway() + vs('a', toSubset('v1'), { created: '2024-01-01T00:00:00Z' }) + vs('b', toSubset('v2', 'match: [{uri: {prefix: /hel}}], '), { created: '2024-02-01T00:00:00Z' }) + SUBSETS_DR,
      expect: { version: { v2: 1 } },
      virtualService: 'sample/a, sample/b',
    },
    {
      name: 'a specific host beats "*"',
      yaml: gateway() + vs('a', toSubset('v1')) + vs('b', toSubset('v2'), { hosts: '[hello.example.com]' }) + SUBSETS_DR,
      request: { host: 'hello.example.com', path: '/' },
      expect: { version: { v2: 1 } },
    },
    { name: 'a VirtualService bound to another Gateway is not used', yaml: gateway() + vs('a', toSubset('v1'), { gateways: '[other-gateway]' }) + SUBSETS_DR, failShare: 1, notes: /no route for Gateway sample\/helloworld-gateway port 80/ },
    { name: 'a server host of another namespace does not admit the VirtualService', yaml: gateway('["other/*"]') + vs('a', toSubset('v1')) + SUBSETS_DR, failShare: 1 },
    { name: 'a Gateway in another namespace, named with its namespace', yaml: gateway().replace('name: helloworld-gateway}', 'name: gw, namespace: istio-gateway}') + vs('a', toSubset('v2'), { gateways: '[istio-gateway/gw]' }) + SUBSETS_DR, expect: { version: { v2: 1 } } },
  ];
  for (const c of cases) it(c.name, () => check({ ...c, source: gatewayPod, request: { ...request, ...c.request } }));
});
