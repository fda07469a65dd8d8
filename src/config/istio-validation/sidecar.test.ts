// Istio's ValidateSidecar, as istiod's webhook denies Sidecars (messages in Istio's words).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateIstioObject } from './validate.js';

const check = (spec: unknown): { errors: string[]; warnings: string[] } => {
  const r = validateIstioObject({ kind: 'Sidecar', metadata: { name: 'default', namespace: 'sample' }, spec });
  return { errors: r.errors.map((e) => `${e.field}: ${e.message}`), warnings: r.warnings.map((e) => `${e.field}: ${e.message}`) };
};

describe('Sidecar validation', () => {
  it('accepts what large Istio users write', () => {
    assert.deepEqual(check({ egress: [{ hosts: ['./*', 'istio-system/*', 'payments/api.payments.svc.cluster.local', '*/*.example.com', '~/*'] }] }).errors, []);
    assert.deepEqual(check({
      workloadSelector: { labels: { app: 'web' } },
      ingress: [{ port: { number: 9080, protocol: 'HTTP', name: 'http' }, defaultEndpoint: '127.0.0.1:8080' }],
      egress: [{ port: { number: 9090, protocol: 'HTTP', name: 'http' }, hosts: ['b/*'] }, { hosts: ['./*'] }],
      outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
    }).errors, []);
  });

  it('refuses an empty Sidecar, hosts without namespace/, a bad namespace or host', () => {
    assert.deepEqual(check({}).errors, ['spec: sidecar: empty configuration provided']);
    const { errors } = check({ egress: [{ hosts: ['foo.com', '/x', 'Bad_NS/*', 'ns/foo..com'] }] });
    assert.deepEqual(errors, [
      'spec.egress[0].hosts[0]: host must be of form namespace/dnsName',
      'spec.egress[0].hosts[1]: config namespace and dnsName in host entry cannot be empty',
      'spec.egress[0].hosts[2]: invalid namespace value "Bad_NS" in sidecar',
      'spec.egress[0].hosts[3]: domain name "foo..com" invalid (label "" invalid)',
    ]);
    assert.deepEqual(check({ egress: [{ hosts: [] }] }).errors, ['spec.egress[0].hosts: sidecar: egress listener must contain at least one host']);
  });

  it('the port-less egress listener is one and the last; ports are unique', () => {
    assert.deepEqual(check({ egress: [{ hosts: ['./*'] }, { port: { number: 80, protocol: 'HTTP' }, hosts: ['./*'] }] }).errors,
      ['spec.egress[0]: sidecar: the egress listener with empty port should be the last listener in the list']);
    assert.deepEqual(check({ egress: [{ port: { number: 80 }, hosts: ['./*'] }, { port: { number: 80 }, hosts: ['b/*'] }] }).errors,
      ['spec.egress[1].port.number: sidecar: ports on IP bound listeners must be unique']);
  });

  it('ingress needs a port; defaultEndpoint is a loopback or any address with a port', () => {
    assert.deepEqual(check({ ingress: [{ defaultEndpoint: '127.0.0.1:8080' }] }).errors, ['spec.ingress[0].port: sidecar: port is required for ingress listeners']);
    assert.deepEqual(check({ ingress: [{ port: { number: 80, protocol: 'HTTP' }, defaultEndpoint: '10.0.0.1:8080' }] }).errors,
      ['spec.ingress[0].defaultEndpoint: sidecar: defaultEndpoint must be of form 127.0.0.1:<port>,0.0.0.0:<port>,[::1]:port,[::]:port,unix://filepath or unset']);
    assert.deepEqual(check({ ingress: [{ port: { number: 80, protocol: 'HTTP' }, defaultEndpoint: '[::1]:8080' }] }).errors, []);
  });

  it('egressProxy only with ALLOW_ANY (an unset mode is REGISTRY_ONLY); duplicated hosts and a selector without labels warn', () => {
    assert.deepEqual(check({ outboundTrafficPolicy: { egressProxy: { host: 'proxy.example.com', port: { number: 3128 } } } }).errors,
      ['spec.outboundTrafficPolicy.egressProxy: sidecar: egress_proxy must be set only with ALLOW_ANY outbound_traffic_policy mode']);
    const dup = check({ workloadSelector: {}, egress: [{ hosts: ['./*', 'sample/a.sample.svc.cluster.local'] }] });
    assert.deepEqual(dup.errors, []);
    assert.deepEqual(dup.warnings, [
      'spec.workloadSelector: sidecar: workload selector specified without labels, will be applied to all services in namespace',
      'spec.egress[0].hosts[1]: duplicated egress host: sample/a.sample.svc.cluster.local',
    ]);
  });
});
