import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Sample } from '../telemetry/prom-text.js';
import type { DestinationRule, VirtualService } from '../config/istio-types.js';
import type { IstioObject } from '../registry/model.js';
import { judgeSplit, splitSpecs, type SplitSpec } from './splits.js';

const HW = 'helloworld.sample.svc.cluster.local';
const obj = <S>(name: string, spec: S, namespace = 'sample'): IstioObject<S> => ({ name, namespace, spec, cluster: 'cluster-1' });
const vs8020: IstioObject<VirtualService> = obj('helloworld', {
  hosts: ['helloworld'],
  http: [{ route: [{ destination: { host: 'helloworld', subset: 'v1' }, weight: 80 }, { destination: { host: 'helloworld', subset: 'v2' }, weight: 20 }] }],
});
const drVersions: IstioObject<DestinationRule> = obj('helloworld', { host: 'helloworld', subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] });

function spec(vs: IstioObject<VirtualService>, dr: IstioObject<DestinationRule>[] = [drVersions]): SplitSpec {
  const { specs, problems } = splitSpecs({ cluster: 'cluster-1', virtualServices: [vs], destinationRules: dr });
  assert.deepEqual(problems, []);
  assert.equal(specs.length, 1);
  return specs[0]!;
}

const sourceCount = (version: string, value: number, extra: Record<string, string> = {}): Sample => ({
  name: 'istio_requests_total',
  labels: { reporter: 'source', source_cluster: 'cluster-1', source_workload: 'sleep', source_workload_namespace: 'sample', destination_service: HW, destination_version: version, destination_cluster: version === 'v1' ? 'cluster-1' : 'cluster-2', ...extra },
  value,
});
const noGateways = () => false;

test('weights mapped to versions through the DestinationRule subsets', () => {
  const s = spec(vs8020);
  assert.equal(s.id, 'sample/helloworld#0@cluster-1');
  assert.equal(s.dimension, 'version');
  assert.equal(s.host, HW);
  assert.deepEqual(s.rows.map((r) => [r.key, r.weight]), [['v1', 0.8], ['v2', 0.2]]);
  assert.deepEqual(s.sources, { cluster: 'cluster-1', sidecars: true, gateways: false });
  assert.equal(s.unjudgeable, undefined);
});

test('subsets selecting member clusters: the cluster dimension', () => {
  const dr = obj<DestinationRule>('helloworld', { host: 'helloworld.sample.svc.cluster.local', subsets: [{ name: 'east', labels: { 'topology.istio.io/cluster': 'cluster-1' } }, { name: 'west', labels: { 'topology.istio.io/cluster': 'cluster-2' } }] });
  const vs = obj<VirtualService>('helloworld', { hosts: ['helloworld'], gateways: ['istio-gateway/gw'], http: [{ route: [{ destination: { host: 'helloworld', subset: 'east' }, weight: 50 }, { destination: { host: 'helloworld', subset: 'west' }, weight: 50 }] }] });
  const s = spec(vs, [dr]);
  assert.equal(s.dimension, 'cluster');
  assert.deepEqual(s.rows.map((r) => r.key), ['cluster-1', 'cluster-2']);
  assert.deepEqual(s.sources, { cluster: 'cluster-1', sidecars: false, gateways: true });
});

test('no verdict where the metrics cannot tell: subsets by other labels, several routes to the same host, a missing subset', () => {
  const drOther = obj<DestinationRule>('helloworld', { host: 'helloworld', subsets: [{ name: 'a', labels: { track: 'a' } }, { name: 'b', labels: { track: 'b' } }] });
  const vsAB = obj<VirtualService>('helloworld', { http: [{ route: [{ destination: { host: 'helloworld', subset: 'a' }, weight: 50 }, { destination: { host: 'helloworld', subset: 'b' }, weight: 50 }] }] });
  assert.equal(spec(vsAB, [drOther]).dimension, 'subset');
  assert.match(judgeSplit(spec(vsAB, [drOther]), [], noGateways).note ?? '', /cannot be observed/);
  const twoRoutes = obj<VirtualService>('helloworld', { http: [{ match: [{ headers: { end_user: { exact: 'jason' } } }], route: [{ destination: { host: 'helloworld', subset: 'v2' } }] }, vs8020.spec.http![0]!] });
  const panel = judgeSplit(spec(twoRoutes), [sourceCount('v1', 800), sourceCount('v2', 200)], noGateways);
  assert.equal(panel.verdict, 'NOT ENOUGH DATA');
  assert.match(panel.note ?? '', /http\[0\] of this VirtualService also sends/);
  const missing = judgeSplit(spec(vs8020, []), [], noGateways);
  assert.match(missing.note ?? '', /subset v1 of helloworld.sample.svc.cluster.local is in no DestinationRule/);
});

test('80/20 observed: PASS; 50/50 observed: FAIL; answers from an unweighted version: FAIL', () => {
  const s = spec(vs8020);
  const pass = judgeSplit(s, [sourceCount('v1', 322), sourceCount('v2', 78)], noGateways);
  assert.equal(pass.verdict, 'PASS');
  assert.equal(pass.total, 400);
  assert.deepEqual(pass.rows.map((r) => [r.key, r.configured, r.count]), [['v1', 0.8, 322], ['v2', 0.2, 78]]);
  assert.ok(Math.abs(pass.rows[0]!.observed - 0.805) < 1e-9);
  assert.equal(pass.alpha, 0.001);
  assert.ok((pass.pValue ?? 0) > 0.001);
  assert.equal(judgeSplit(s, [sourceCount('v1', 200), sourceCount('v2', 200)], noGateways).verdict, 'FAIL');
  const v3 = judgeSplit(s, [sourceCount('v1', 320), sourceCount('v2', 80), sourceCount('v3', 1)], noGateways);
  assert.equal(v3.verdict, 'FAIL');
  assert.deepEqual(v3.rows.map((r) => r.key), ['v1', 'v2', 'v3']);
});

test('NOT ENOUGH DATA under 50 requests or 5 expected in a row', () => {
  const s = spec(vs8020);
  assert.equal(judgeSplit(s, [sourceCount('v1', 40), sourceCount('v2', 9)], noGateways).verdict, 'NOT ENOUGH DATA');
  const skewed = spec(obj<VirtualService>('helloworld', { http: [{ route: [{ destination: { host: 'helloworld', subset: 'v1' }, weight: 99 }, { destination: { host: 'helloworld', subset: 'v2' }, weight: 1 }] }] }));
  assert.equal(judgeSplit(skewed, [sourceCount('v1', 300)], noGateways).verdict, 'NOT ENOUGH DATA', '300 x 1 % = 3 expected for v2');
});

test('only the requests of the proxies the route applies to: this cluster, reporter=source, sidecars (not gateways), this host', () => {
  const s = spec(vs8020);
  const panel = judgeSplit(
    s,
    [
      sourceCount('v1', 320), sourceCount('v2', 80),
      sourceCount('v1', 1000, { source_cluster: 'cluster-2' }),
      sourceCount('v1', 1000, { reporter: 'destination' }),
      sourceCount('v1', 1000, { source_workload: 'istio-ingressgateway', source_workload_namespace: 'istio-gateway' }),
      sourceCount('v1', 1000, { destination_service: 'other.sample.svc.cluster.local' }),
      sourceCount('unknown', 7),
    ],
    (_c, _n, workload) => workload === 'istio-ingressgateway',
  );
  assert.equal(panel.total, 400);
  assert.equal(panel.verdict, 'PASS');
  assert.match(panel.note ?? '', /7 request\(s\) reached no known version/);
});

test('a route with one destination, or none weighted, is no split', () => {
  const one = obj<VirtualService>('one', { http: [{ route: [{ destination: { host: 'helloworld', subset: 'v1' } }] }] });
  const none = obj<VirtualService>('none', { http: [{ route: [{ destination: { host: 'helloworld', subset: 'v1' } }, { destination: { host: 'helloworld', subset: 'v2' } }] }] });
  const { specs, problems } = splitSpecs({ cluster: 'cluster-1', virtualServices: [one, none], destinationRules: [drVersions] });
  assert.deepEqual(specs, []);
  assert.match(problems[0] ?? '', /sample\/none .* 2 destinations and no weight/);
});
