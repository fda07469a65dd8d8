import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareLive, describeEdit, hostMatches, ownedRouteIndexes, routePatch, routeWeights, weightedRoute } from './routes.js';

const hostCases: Array<[string, string, boolean]> = [
  ['helloworld', 'helloworld', true],
  ['helloworld.sample.svc.cluster.local', 'helloworld', true],
  ['helloworld.sample', 'helloworld.sample.svc.cluster.local', true],
  ['helloworld.sample.svc', 'helloworld', true],
  ['helloworld.other.svc.cluster.local', 'helloworld', false],
  ['hello', 'helloworld', false],
];
for (const [dest, host, expected] of hostCases) test(`hostMatches(${dest}, ${host}) in sample = ${expected}`, () => assert.equal(hostMatches(dest, host, 'sample'), expected));

test('owned routes: every destination goes to host; redirects and mixed routes are not owned', () => {
  const spec = {
    http: [
      { match: [{ uri: { prefix: '/a' } }], route: [{ destination: { host: 'other' } }] },
      { route: [{ destination: { host: 'helloworld', subset: 'v1' }, weight: 90 }, { destination: { host: 'helloworld.sample.svc.cluster.local', subset: 'v2' }, weight: 10 }] },
      { route: [{ destination: { host: 'helloworld' }, weight: 50 }, { destination: { host: 'other' }, weight: 50 }] },
      { redirect: { uri: '/x' } },
      { route: [{ destination: { host: 'helloworld', port: { number: 5000 } } }] },
    ],
  };
  assert.deepEqual(ownedRouteIndexes(spec, 'helloworld', 'sample'), [1, 4]);
  assert.deepEqual(ownedRouteIndexes({}, 'helloworld', 'sample'), []);
});

test('weightedRoute keeps the port and the entry fields of the first destination, both subsets always present', () => {
  const stable = [{ destination: { host: 'helloworld', port: { number: 5000 } }, headers: { request: { set: { x: '1' } } } }];
  assert.deepEqual(weightedRoute(stable, 'v1', 'v2', 25), [
    { headers: { request: { set: { x: '1' } } }, destination: { host: 'helloworld', port: { number: 5000 }, subset: 'v1' }, weight: 75 },
    { headers: { request: { set: { x: '1' } } }, destination: { host: 'helloworld', port: { number: 5000 }, subset: 'v2' }, weight: 25 },
  ]);
  assert.deepEqual(weightedRoute(stable, 'v1', 'v2', 100).map((d) => d.weight), [0, 100]);
  // The stable route is not modified.
  assert.equal((stable[0] as { destination: { subset?: string } }).destination.subset, undefined);
});

const weightCases: Array<[string, unknown[], Record<string, number> | undefined]> = [
  ['one destination without weight', [{ destination: { host: 'h' } }], { '(none)': 100 }],
  ['two subsets', [{ destination: { host: 'h', subset: 'v1' }, weight: 60 }, { destination: { host: 'h', subset: 'v2' }, weight: 40 }], { v1: 60, v2: 40 }],
  ['a subset twice', [{ destination: { host: 'h', subset: 'v1' }, weight: 60 }, { destination: { host: 'h', subset: 'v1' }, weight: 40 }], { v1: 100 }],
  ['not a destination', [{ weight: 5 }], undefined],
];
for (const [name, route, expected] of weightCases) test(`routeWeights: ${name}`, () => assert.deepEqual(routeWeights(route), expected));

test('the patch tests exactly the owned path with the value read, then replaces it', () => {
  const live = [{ destination: { host: 'h' } }];
  const desired = weightedRoute(live, 'v1', 'v2', 10);
  assert.deepEqual(routePatch(2, live, desired), [
    { op: 'test', path: '/spec/http/2/route', value: live },
    { op: 'replace', path: '/spec/http/2/route', value: desired },
  ]);
});

test('compareLive: applied, candidate, stable, edited; the edit message names cluster, VS, route and both values', () => {
  const stable = [{ destination: { host: 'helloworld' } }];
  const ref = { cluster: 'cluster-2', virtualService: 'helloworld', routeIndex: 0 };
  const snapshot = { ...ref, stable, applied: { v1: 75, v2: 25 } };
  assert.equal(compareLive(weightedRoute(stable, 'v1', 'v2', 25), snapshot), 'applied');
  assert.equal(compareLive(weightedRoute(stable, 'v1', 'v2', 50), snapshot, { v1: 50, v2: 50 }), 'candidate');
  assert.equal(compareLive(stable, snapshot, { v1: 50, v2: 50 }), 'stable');
  const edited = weightedRoute(stable, 'v1', 'v2', 40);
  assert.equal(compareLive(edited, snapshot, { v1: 50, v2: 50 }), 'edited');
  assert.equal(compareLive(undefined, snapshot), 'edited');
  assert.equal(describeEdit(ref, 'sample', edited, snapshot), 'cluster-2 VirtualService sample/helloworld http[0] has weights v1=60, v2=40, the controller wrote v1=75, v2=25');
  // Before the first write the stable route is what must be there.
  assert.equal(compareLive(stable, { ...ref, stable }), 'applied');
  assert.match(describeEdit(ref, 'sample', edited, { ...ref, stable }), /the controller wrote the stable route \(\(none\)=100\)/);
});
