// The analyzer on proxy.istio.io/config: an annotation that does not parse is IST0125 (as Istio's
// InvalidAnnotation, a warning), fields meshwork does not act on are named; pods without a proxy and
// valid gateway topologies say nothing. From pods through the registry's build, as the control plane runs it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { formatProblem } from '../mesh-cli/analyze.js';
import { buildMeshSnapshot } from '../registry/build.js';
import { pod } from '../registry/testdata/kube-fixtures.js';
import { analyze } from './translate.js';

function annotated(name: string, value: string, sidecar = true): V1Pod {
  const p = pod(name, 'istio-gateway', '127.10.0.30', { app: name }, { sidecar });
  p.metadata = { ...p.metadata, annotations: { 'proxy.istio.io/config': value } };
  return p;
}

test('analyze: invalid proxy.istio.io/config annotations of proxy pods, and fields meshwork does not act on', () => {
  const pods = [
    annotated('gw-bad-json', '{"gatewayTopology":{"numTrustedProxies":1}'),
    annotated('gw-bad-value', '{"gatewayTopology":{"numTrustedProxies":"two"}}'),
    annotated('gw-good', '{"gatewayTopology":{"numTrustedProxies":2,"forwardClientCertDetails":"SANITIZE"}}'),
    annotated('gw-extra', 'concurrency: 2\ngatewayTopology: {numTrustedProxies: 1}\n'),
    annotated('no-proxy', 'not: [json', false),
  ];
  const { snapshot } = buildMeshSnapshot({ clusters: [{ clusterId: 'cluster-1', services: [], endpointSlices: [], pods, namespaces: [] }], config: [] });
  assert.deepEqual(snapshot.proxyConfigAnnotations?.map((a) => a.pod), ['gw-bad-json', 'gw-bad-value', 'gw-extra', 'gw-good'], 'only pods with a proxy');
  const lines = analyze(snapshot).map(formatProblem);
  assert.equal(lines.length, 3, lines.join('\n'));
  assert.match(lines[0]!, /^Warning \[IST0125\] \(Pod istio-gateway\/gw-bad-json\) Invalid annotation proxy\.istio\.io\/config \(cluster cluster-1\): not YAML or JSON: .*The proxy does not apply it and runs with the mesh's default proxy config/);
  assert.match(lines[1]!, /^Warning \[IST0125\] \(Pod istio-gateway\/gw-bad-value\) .*gatewayTopology\.numTrustedProxies: expected a whole number from 0 to 4294967295, got "two"/);
  assert.match(lines[2]!, /^Warning \[MW0001\] \(Pod istio-gateway\/gw-extra\) ProxyConfig fields meshwork does not act on \(cluster cluster-1\): concurrency;/);
  assert.ok(lines.every((l) => l.endsWith("(at metadata.annotations['proxy.istio.io/config'])")));
});

test('a snapshot without annotated proxy pods is what it was (no field, same version)', () => {
  const plain = buildMeshSnapshot({ clusters: [{ clusterId: 'cluster-1', services: [], endpointSlices: [], pods: [pod('a', 'sample', '127.10.0.2', { app: 'a' }, { sidecar: true })], namespaces: [] }], config: [] });
  assert.equal('proxyConfigAnnotations' in plain.snapshot, false);
});
