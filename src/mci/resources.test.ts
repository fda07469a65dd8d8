import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { KubeObject } from '../k8s/object.js';
import { scenarioDir } from '../../test/helpers/paths.js';
import { gatewayBackends } from './gateways.js';
import {
  DERIVED_FROM_LABEL,
  derivedService,
  derivedServiceName,
  parseBackendConfig,
  parseMultiClusterIngress,
  parseMultiClusterService,
  planEdge,
  type BackendConfig,
  type MultiClusterService,
} from './resources.js';

const scenario = (file: string, namespace = 'istio-gateway'): KubeObject => {
  const obj = parse(readFileSync(join(scenarioDir(), file), 'utf8')) as KubeObject;
  return { ...obj, metadata: { ...obj.metadata, namespace } };
};
const mcs = parseMultiClusterService(scenario('multiclusterservice.yaml'));
const mci = parseMultiClusterIngress(scenario('multiclusteringress.yaml'));
const bc = parseBackendConfig(scenario('backendconfig.yaml'));

test('derived Service: ClusterIP, the template ports and selector, GKE-style name, marked with its MCS', () => {
  const svc = derivedService(mcs);
  assert.match(svc.metadata.name ?? '', /^mci-istio-ingressgateway-[0-9a-f]{8}$/);
  assert.equal(svc.metadata.name, derivedServiceName({ name: 'istio-ingressgateway', namespace: 'istio-gateway' }), 'stable across runs');
  assert.notEqual(svc.metadata.name, derivedServiceName({ name: 'istio-ingressgateway', namespace: 'other' }));
  assert.equal(svc.metadata.namespace, 'istio-gateway');
  assert.equal(svc.metadata.labels?.[DERIVED_FROM_LABEL], 'istio-ingressgateway');
  assert.deepEqual(svc.spec, {
    type: 'ClusterIP',
    selector: { istio: 'ingressgateway', app: 'istio-ingressgateway' },
    ports: [
      { name: 'status-port', port: 15021, protocol: 'TCP', targetPort: 15021 },
      { name: 'http2', port: 80, protocol: 'TCP', targetPort: 80 },
      { name: 'https', port: 443, protocol: 'TCP', targetPort: 443 },
    ],
  });
  const long = derivedServiceName({ name: 'x'.repeat(80), namespace: 'n' });
  assert.ok(long.length <= 63, long);
});

test('plan of the scenario: backend port 80 (http2), health check from the BackendConfig with GCLB defaults', () => {
  const plan = planEdge(mci, [mcs], [bc]);
  assert.ok(plan.ok, JSON.stringify(plan));
  assert.equal(plan.value.derivedServiceName, derivedServiceName(mcs));
  assert.deepEqual(plan.value.servicePort, { name: 'http2', port: 80 });
  assert.deepEqual(plan.value.healthCheck, { type: 'HTTP', port: 15021, requestPath: '/healthz/ready', checkIntervalSec: 5, timeoutSec: 5, healthyThreshold: 2, unhealthyThreshold: 2 });
});

test('plan errors: each with a reason and a message naming the object and field', () => {
  const withHc = (hc: Record<string, unknown>): BackendConfig[] => [{ ...bc, healthCheck: { ...bc.healthCheck, ...hc } }];
  const otherMcs: MultiClusterService = { ...mcs, name: 'other' };
  const table: { name: string; plan: ReturnType<typeof planEdge>; reason: string; message: RegExp }[] = [
    { name: 'missing MCS', plan: planEdge(mci, [otherMcs], [bc]), reason: 'BackendServiceNotFound', message: /MultiClusterService istio-gateway\/istio-ingressgateway .*does not exist/ },
    { name: 'MCS in another namespace', plan: planEdge(mci, [{ ...mcs, namespace: 'default' }], [bc]), reason: 'BackendServiceNotFound', message: /does not exist/ },
    { name: 'port not in the MCS', plan: planEdge({ ...mci, backend: { serviceName: 'istio-ingressgateway', servicePort: 8080 } }, [mcs], [bc]), reason: 'BackendPortNotFound', message: /no port 8080 \(ports: status-port\/15021, http2\/80, https\/443\)/ },
    { name: 'port 99999', plan: planEdge(mci, [mcs], withHc({ port: 99999 })), reason: 'InvalidBackendConfig', message: /BackendConfig istio-gateway\/ingress-backendconfig: spec\.healthCheck\.port 99999 is not a valid port/ },
    { name: 'TCP health check', plan: planEdge(mci, [mcs], withHc({ type: 'TCP' })), reason: 'InvalidBackendConfig', message: /type "TCP" is not supported/ },
    { name: 'relative path', plan: planEdge(mci, [mcs], withHc({ requestPath: 'healthz' })), reason: 'InvalidBackendConfig', message: /requestPath "healthz" must start with "\/"/ },
    { name: 'line break in the path', plan: planEdge(mci, [mcs], withHc({ requestPath: '/healthz\nx' })), reason: 'InvalidBackendConfig', message: /requestPath "\/healthz\\nx" must be printable ASCII without spaces/ },
    { name: 'zero threshold', plan: planEdge(mci, [mcs], withHc({ healthyThreshold: 0 })), reason: 'InvalidBackendConfig', message: /healthyThreshold 0/ },
    { name: 'missing BackendConfig', plan: planEdge(mci, [mcs], []), reason: 'BackendConfigNotFound', message: /BackendConfig istio-gateway\/ingress-backendconfig .*does not exist/ },
    { name: 'bad annotation', plan: planEdge(mci, [{ ...mcs, backendConfigAnnotation: '{default:' }], [bc]), reason: 'InvalidBackendConfigAnnotation', message: /not JSON/ },
    { name: 'rules', plan: planEdge({ ...mci, hasRules: true }, [mcs], [bc]), reason: 'UnsupportedRules', message: /rules is not implemented/ },
  ];
  for (const row of table) {
    assert.equal(row.plan.ok, false, row.name);
    if (row.plan.ok) continue;
    assert.equal(row.plan.reason, row.reason, row.name);
    assert.match(row.plan.message, row.message, row.name);
  }
});

test('health check overrides and defaults', () => {
  const custom = planEdge(mci, [mcs], [{ ...bc, healthCheck: { ...bc.healthCheck, checkIntervalSec: 2, timeoutSec: 1, healthyThreshold: 3 } }]);
  assert.ok(custom.ok);
  assert.deepEqual([custom.value.healthCheck.checkIntervalSec, custom.value.healthCheck.timeoutSec, custom.value.healthCheck.healthyThreshold, custom.value.healthCheck.unhealthyThreshold], [2, 1, 3, 2]);
  // No BackendConfig at all: GET / on the serving port.
  const none = planEdge(mci, [{ ...mcs, backendConfigAnnotation: undefined }], []);
  assert.ok(none.ok);
  assert.equal(none.value.healthCheck.port, 80);
  assert.equal(none.value.healthCheck.requestPath, '/');
  // Per-port BackendConfig wins over default.
  const perPort = planEdge(mci, [{ ...mcs, backendConfigAnnotation: '{"default":"missing","ports":{"http2":"ingress-backendconfig"}}' }], [bc]);
  assert.ok(perPort.ok, JSON.stringify(perPort));
  // A named servicePort.
  assert.ok(planEdge({ ...mci, backend: { serviceName: 'istio-ingressgateway', servicePort: 'http2' } }, [mcs], [bc]).ok);
});

test('gateways from EndpointSlices: the backend port by name, terminating pods left out, slices merged', () => {
  const slices = [
    {
      ports: [{ name: 'status-port', port: 15021 }, { name: 'http2', port: 8080 }],
      endpoints: [
        { addresses: ['127.130.0.3'], conditions: { ready: true }, targetRef: { name: 'gw-a' } },
        { addresses: ['127.130.0.4'], conditions: { ready: false, terminating: true }, targetRef: { name: 'gw-old' } },
        { addresses: ['127.130.0.5'], conditions: { ready: false }, targetRef: { name: 'gw-new' } },
      ],
    },
    { ports: [{ name: 'http2', port: 8080 }], endpoints: [{ addresses: ['127.130.0.6'], targetRef: null }] },
    { ports: [{ name: 'other', port: 1 }], endpoints: [{ addresses: ['127.130.0.7'] }] },
  ];
  assert.deepEqual(gatewayBackends('cluster-1', slices, { name: 'http2', port: 80 }), [
    { cluster: 'cluster-1', pod: '127.130.0.6', ip: '127.130.0.6', port: 8080 },
    { cluster: 'cluster-1', pod: 'gw-a', ip: '127.130.0.3', port: 8080 },
    { cluster: 'cluster-1', pod: 'gw-new', ip: '127.130.0.5', port: 8080 },
  ]);
  assert.deepEqual(gatewayBackends('cluster-1', [], { name: 'http2', port: 80 }), []);
});
