import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyJsonPatch } from '../k8s/patch/index.js';
import type { InjectionContext } from './inject.js';
import { injectPod } from './inject.js';
import { INTERCEPTION_MODE_ANNOTATION } from '../config/interception.js';
import { interceptionFor } from './interception.js';
import { parseIstioIptablesArgs } from './iptables-rules.js';
import type { Pod } from './pod.js';
import { readPod } from './pod.js';

const base: InjectionContext = {
  revision: 'asm-managed-stable',
  xdsAddress: '127.232.0.5:15010',
  clusterId: 'cluster-1',
  proxyImage: 'ghcr.io/meshwork/meshwork:0.1.0',
  dataPlane: 'envoy',
};
const redirect: InjectionContext = { ...base, interceptionMode: 'REDIRECT' };

function pod(annotations?: Record<string, string>): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'helloworld-v1-abc', namespace: 'sample', labels: { app: 'helloworld', version: 'v1' }, ...(annotations ? { annotations } : {}) },
    spec: { containers: [{ name: 'helloworld', image: 'docker.io/istio/examples-helloworld-v1', ports: [{ containerPort: 5000 }] }] },
  };
}

function inject(p: Pod, ctx: InjectionContext): { pod: Pod; warnings: string[] } {
  const result = injectPod(p, ctx);
  return { pod: readPod(applyJsonPatch(p, result.patch)), warnings: result.warnings ?? [] };
}
const env = (p: Pod, container: string, name: string): string | undefined => p.spec.containers.find((c) => c.name === container)?.env?.find((e) => e.name === name)?.value;

describe('injection with iptables interception', () => {
  it("adds istio-init with Istio's default istio-iptables args, as root with NET_ADMIN and NET_RAW", () => {
    const { pod: out, warnings } = inject(pod(), redirect);
    assert.deepEqual(warnings, []);
    assert.deepEqual(out.spec.initContainers?.map((c) => c.name), ['istio-init']);
    const init = out.spec.initContainers![0]!;
    assert.equal(init.image, base.proxyImage);
    assert.deepEqual(init.args, ['istio-iptables', '-p', '15001', '-z', '15006', '-u', '1337', '-m', 'REDIRECT', '-i', '*', '-x', '', '-b', '*', '-d', '15090,15021,15020']);
    assert.deepEqual((init.securityContext as { capabilities: unknown }).capabilities, { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] });
    assert.equal((init.securityContext as { runAsUser: number }).runAsUser, 0);
    // The args parse as istio-iptables' own.
    assert.equal(parseIstioIptablesArgs(init.args!.slice(1)).proxyPort, 15001);
  });

  it('the proxy runs as 1337 with ISTIO_META_INTERCEPTION_MODE; the app gets no http_proxy; the pod records the mode', () => {
    const { pod: out } = inject(pod(), redirect);
    const proxy = out.spec.containers.find((c) => c.name === 'istio-proxy')!;
    assert.deepEqual(proxy.securityContext, { runAsUser: 1337, runAsGroup: 1337, runAsNonRoot: true });
    assert.equal(env(out, 'istio-proxy', 'ISTIO_META_INTERCEPTION_MODE'), 'REDIRECT');
    assert.equal(env(out, 'helloworld', 'http_proxy'), undefined);
    assert.equal(env(out, 'helloworld', 'HTTP_PROXY'), undefined);
    assert.equal(out.metadata.annotations?.[INTERCEPTION_MODE_ANNOTATION], 'REDIRECT');
    assert.deepEqual(JSON.parse(out.metadata.annotations!['sidecar.istio.io/status']!).initContainers, ['istio-init']);
  });

  it('the traffic.sidecar.istio.io annotations become istio-init args', () => {
    const { pod: out } = inject(pod({
      'traffic.sidecar.istio.io/excludeOutboundIPRanges': '10.96.0.1/32',
      'traffic.sidecar.istio.io/includeInboundPorts': '5000',
      'traffic.sidecar.istio.io/excludeOutboundPorts': '5432',
    }), redirect);
    const cfg = parseIstioIptablesArgs(out.spec.initContainers![0]!.args!.slice(1));
    assert.deepEqual(cfg.outboundIpRangesExclude, ['10.96.0.1/32']);
    assert.deepEqual(cfg.inboundPortsInclude, [5000]);
    assert.deepEqual(cfg.outboundPortsExclude, [5432]);
  });

  const unchanged: Array<{ name: string; ctx: InjectionContext; annotations?: Record<string, string>; warning?: RegExp }> = [
    { name: 'a mesh without interception: exactly as before', ctx: base },
    { name: 'the pod opts out with interceptionMode NONE', ctx: redirect, annotations: { [INTERCEPTION_MODE_ANNOTATION]: 'NONE' } },
    { name: 'a meshwork data plane cannot be captured: http_proxy, with a warning', ctx: { ...redirect, dataPlane: 'meshwork' }, warning: /needs the envoy data plane/ },
    { name: 'a pod asking REDIRECT in a mesh without interception: warned, http_proxy', ctx: base, annotations: { [INTERCEPTION_MODE_ANNOTATION]: 'REDIRECT' }, warning: /runs without interception/ },
    { name: 'an unknown mode: warned, not captured', ctx: redirect, annotations: { [INTERCEPTION_MODE_ANNOTATION]: 'FOO' }, warning: /"FOO" is not supported/ },
  ];
  for (const c of unchanged) {
    it(`not captured: ${c.name}`, () => {
      const { pod: out, warnings } = inject(pod(c.annotations), c.ctx);
      assert.equal(out.spec.initContainers, undefined);
      assert.equal(env(out, 'helloworld', 'http_proxy'), 'http://$(INSTANCE_IP):15001');
      assert.equal(env(out, 'istio-proxy', 'ISTIO_META_INTERCEPTION_MODE'), undefined);
      if (c.warning) assert.match(warnings.join('\n'), c.warning);
      else assert.deepEqual(warnings, []);
    });
  }

});

it('traffic capture annotations on a pod that is not captured are reported, not ignored', () => {
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'n', annotations: { 'traffic.sidecar.istio.io/excludeOutboundPorts': '5432' } }, spec: { containers: [] } } as unknown as Pod;
  const decision = interceptionFor(pod, undefined, 'envoy');
  assert.equal(decision.capture, false);
  assert.match(decision.capture ? '' : decision.warning ?? '', /traffic\.sidecar\.istio\.io\/excludeOutboundPorts not applied: the pod is not captured/);
});
