// The analyzer on proxy.istio.io/config: an annotation that does not parse is IST0125 (as Istio's
// InvalidAnnotation, a warning), fields meshwork does not act on are named; pods without a proxy and
// valid gateway topologies say nothing. From pods through the registry's build, as the control plane runs it.
// Then MW0016, traffic.sidecar.istio.io annotations on pods iptables does not capture.
import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { injectPod, type InjectionContext } from '../inject/inject.js';
import { readPod, type Pod as InjectorPod } from '../inject/pod.js';
import { applyJsonPatch } from '../k8s/patch/index.js';
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

// MW0016: traffic.sidecar.istio.io annotations on proxy pods that iptables does not capture. The pods
// are the injector's own output, so the analyzer is held to what the injector writes and warns.
describe('analyze: traffic.sidecar.istio.io annotations that are not applied (MW0016)', () => {
  const mesh: InjectionContext = { revision: 'asm-managed-stable', xdsAddress: '127.232.0.5:15010', clusterId: 'cluster-1', proxyImage: 'ghcr.io/meshwork/meshwork:0.1.0', dataPlane: 'envoy' };
  const intercepting: InjectionContext = { ...mesh, interceptionMode: 'REDIRECT' };
  const traffic = { 'traffic.sidecar.istio.io/excludeOutboundPorts': '3306', 'traffic.sidecar.istio.io/includeInboundPorts': '5000' };
  const names = 'traffic.sidecar.istio.io/excludeOutboundPorts, traffic.sidecar.istio.io/includeInboundPorts';
  const cases: Array<{ name: string; ctx: InjectionContext; annotations: Record<string, string>; inject?: false; line?: RegExp }> = [
    {
      name: 'a mesh without interception: not captured, http_proxy',
      ctx: mesh,
      annotations: traffic,
      line: new RegExp(`^Warning \\[MW0016\\] \\(Pod sample/helloworld-v1\\) Annotations ${names} are not applied \\(cluster cluster-1\\): the pod is not captured by iptables: it has no istio-init init container and reaches the mesh through http_proxy .*only istio-init's capture rules read them\\. Remove them, or run the mesh with interception \\(meshwork up --interception iptables, as root\\) on the envoy data plane and recreate the pod\\. \\(at metadata\\.annotations\\)$`),
    },
    { name: 'a mesh with interception and Envoy: captured, applied, nothing said', ctx: intercepting, annotations: traffic },
    {
      name: 'a mesh with interception, the pod on the meshwork proxy: not captured',
      ctx: { ...intercepting, dataPlane: 'meshwork' },
      annotations: { 'traffic.sidecar.istio.io/excludeOutboundPorts': '3306' },
      line: /^Warning \[MW0016\] \(Pod sample\/helloworld-v1\) Annotation traffic\.sidecar\.istio\.io\/excludeOutboundPorts is not applied \(cluster cluster-1\): the pod is not captured by iptables: .*the pod's data plane is the meshwork proxy\), and only istio-init's capture rules read it\. Remove it, /,
    },
    {
      name: 'the pod opts out with interceptionMode NONE',
      ctx: intercepting,
      annotations: { ...traffic, 'sidecar.istio.io/interceptionMode': 'NONE' },
      line: /\): the pod opts out of capture \(sidecar\.istio\.io\/interceptionMode: NONE\), and only istio-init's capture rules read them\. Remove them, or drop the opt-out in a mesh that runs with interception and recreate the pod\./,
    },
    {
      name: 'an interception mode that is not supported',
      ctx: intercepting,
      annotations: { ...traffic, 'sidecar.istio.io/interceptionMode': 'FOO' },
      line: /\): the pod asks sidecar\.istio\.io\/interceptionMode: "FOO", which is not supported \(REDIRECT or NONE\), so it is not captured, /,
    },
    { name: 'no traffic annotations: nothing said', ctx: mesh, annotations: { 'sidecar.istio.io/interceptionMode': 'NONE' } },
    { name: 'a pod without a proxy: nothing said', ctx: mesh, annotations: traffic, inject: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const raw: InjectorPod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'helloworld-v1', namespace: 'sample', labels: { app: 'helloworld' }, annotations: c.annotations },
        spec: { containers: [{ name: 'helloworld', image: 'docker.io/istio/examples-helloworld-v1' }] },
      };
      const result = c.inject === false ? { patch: [], warnings: [] } : injectPod(raw, c.ctx);
      const injected = readPod(applyJsonPatch(raw, result.patch)) as unknown as V1Pod;
      const { snapshot } = buildMeshSnapshot({ clusters: [{ clusterId: 'cluster-1', services: [], endpointSlices: [], pods: [injected], namespaces: [] }], config: [] });
      const lines = analyze(snapshot).map(formatProblem).filter((l) => l.includes('[MW0016]'));
      if (!c.line) {
        assert.deepEqual(lines, []);
        assert.equal('uncapturedTrafficAnnotations' in snapshot, false, 'no field, so the snapshot version stays what it was');
        return;
      }
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, c.line);
      // The injector said the same at admission: the same annotations, not applied.
      const notApplied = Object.keys(c.annotations).filter((k) => k.startsWith('traffic.sidecar.istio.io/')).sort().join(', ');
      assert.ok((result.warnings ?? []).some((w) => w.includes(`${notApplied} not applied`)), `injector warnings: ${JSON.stringify(result.warnings)}`);
    });
  }
});
