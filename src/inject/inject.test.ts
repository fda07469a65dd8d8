import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { applyJsonPatch } from '../k8s/patch/index.js';
import type { InjectionContext } from './inject.js';
import { injectPod, STATUS_ANNOTATION } from './inject.js';
import type { Container, Pod } from './pod.js';
import { readPod } from './pod.js';

const ctx: InjectionContext = {
  revision: 'asm-managed-stable',
  xdsAddress: '127.232.0.5:15010',
  clusterId: 'cluster-1',
  meshId: 'mesh-1',
  proxyImage: 'ghcr.io/meshwork/meshwork:0.1.0',
};

function helloworldPod(extra: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'helloworld-v1-5d7f8c9b4-',
      namespace: 'sample',
      labels: { app: 'helloworld', version: 'v1', 'pod-template-hash': '5d7f8c9b4', ...extra.labels },
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'helloworld-v1-5d7f8c9b4', controller: true }],
    },
    spec: {
      containers: [
        {
          name: 'helloworld',
          image: 'docker.io/istio/examples-helloworld-v1',
          ports: [{ containerPort: 5000 }],
          env: [{ name: 'GREETING', value: 'hi' }],
        },
      ],
    },
  };
}

function injected(pod: Pod, context: InjectionContext = ctx): Pod {
  const result = injectPod(pod, context);
  assert.equal(result.skipped, undefined);
  return readPod(applyJsonPatch(pod, result.patch));
}

function container(pod: Pod, name: string): Container {
  const c = pod.spec.containers.find((x) => x.name === name);
  assert.ok(c, `container ${name} exists`);
  return c;
}

function envValue(c: Container, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value;
}

describe('injectPod: sidecar template', () => {
  it('appends istio-proxy with the proxy image, args and the control plane address', () => {
    const pod = injected(helloworldPod());
    assert.deepEqual(pod.spec.containers.map((c) => c.name), ['helloworld', 'istio-proxy']);
    const proxy = container(pod, 'istio-proxy');
    assert.equal(proxy.image, ctx.proxyImage);
    assert.deepEqual(proxy.args, ['proxy', 'sidecar']);
    assert.equal(envValue(proxy, 'XDS_ADDRESS'), '127.232.0.5:15010');
    assert.equal(envValue(proxy, 'CLUSTER_ID'), 'cluster-1');
    assert.equal(envValue(proxy, 'ISTIO_META_CLUSTER_ID'), 'cluster-1');
    assert.equal(envValue(proxy, 'ISTIO_META_MESH_ID'), 'mesh-1');
    // No CA settings in the context: none in the env (the agent then speaks plaintext and has no certificates).
    assert.deepEqual(['CA_ADDR', 'MESHWORK_ROOT_CERT', 'TRUST_DOMAIN'].map((n) => envValue(proxy, n)), [undefined, undefined, undefined]);
    assert.equal(envValue(proxy, 'ISTIO_META_WORKLOAD_NAME'), 'helloworld-v1');
    assert.equal(envValue(proxy, 'ISTIO_META_OWNER'), 'kubernetes://apis/apps/v1/namespaces/sample/deployments/helloworld-v1');
    assert.equal(envValue(proxy, 'ISTIO_META_APP_CONTAINERS'), 'helloworld');
    assert.deepEqual(JSON.parse(envValue(proxy, 'ISTIO_META_POD_PORTS') ?? ''), [{ containerPort: 5000 }]);
    const fieldRefs = Object.fromEntries((proxy.env ?? []).filter((e) => e.valueFrom).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]));
    assert.equal(fieldRefs.POD_NAME, 'metadata.name');
    assert.equal(fieldRefs.POD_NAMESPACE, 'metadata.namespace');
    assert.equal(fieldRefs.INSTANCE_IP, 'status.podIP');
    assert.deepEqual(proxy.readinessProbe?.httpGet, { path: '/healthz/ready', port: 15021 });
  });

  it('points every app container at the sidecar, defining INSTANCE_IP before the variables that use it', () => {
    const app = container(injected(helloworldPod()), 'helloworld');
    const names = (app.env ?? []).map((e) => e.name);
    assert.deepEqual(names, ['GREETING', 'INSTANCE_IP', 'http_proxy', 'HTTP_PROXY', 'no_proxy', 'NO_PROXY']);
    assert.equal(app.env?.[1]?.valueFrom?.fieldRef?.fieldPath, 'status.podIP');
    assert.equal(envValue(app, 'http_proxy'), 'http://$(INSTANCE_IP):15001');
    assert.equal(envValue(app, 'HTTP_PROXY'), 'http://$(INSTANCE_IP):15001');
    assert.equal(envValue(app, 'no_proxy'), 'localhost,127.0.0.1');
  });

  it('keeps an app container\'s own proxy settings', () => {
    const pod = helloworldPod();
    pod.spec.containers[0]!.env = [{ name: 'INSTANCE_IP', value: '1.2.3.4' }, { name: 'http_proxy', value: 'http://elsewhere:3128' }];
    const app = container(injected(pod), 'helloworld');
    assert.deepEqual((app.env ?? []).map((e) => e.name), ['INSTANCE_IP', 'http_proxy', 'HTTP_PROXY', 'no_proxy', 'NO_PROXY']);
    assert.equal(envValue(app, 'http_proxy'), 'http://elsewhere:3128');
  });

  it('labels and annotates the pod as Istio does', () => {
    const pod = injected(helloworldPod());
    assert.equal(pod.metadata.labels?.['service.istio.io/canonical-name'], 'helloworld');
    assert.equal(pod.metadata.labels?.['service.istio.io/canonical-revision'], 'v1');
    assert.equal(pod.metadata.labels?.['security.istio.io/tlsMode'], 'istio');
    assert.equal(pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'], 'helloworld');
    const status = JSON.parse(pod.metadata.annotations?.[STATUS_ANNOTATION] ?? '{}');
    assert.deepEqual(status, { initContainers: [], containers: ['istio-proxy'], volumes: [], imagePullSecrets: null, revision: 'asm-managed-stable' });
  });

  it('tells the proxy its data plane: the mesh default, or the pod\'s annotation', () => {
    assert.equal(envValue(container(injected(helloworldPod()), 'istio-proxy'), 'MESHWORK_DATA_PLANE'), 'meshwork');
    const envoyMesh = { ...ctx, dataPlane: 'envoy' as const };
    assert.equal(envValue(container(injected(helloworldPod(), envoyMesh), 'istio-proxy'), 'MESHWORK_DATA_PLANE'), 'envoy');
    const annotated = helloworldPod({ annotations: { 'proxy.meshwork.io/data-plane': 'meshwork' } });
    assert.equal(envValue(container(injected(annotated, envoyMesh), 'istio-proxy'), 'MESHWORK_DATA_PLANE'), 'meshwork');
    assert.throws(() => injectPod(helloworldPod({ annotations: { 'proxy.meshwork.io/data-plane': 'nginx' } }), envoyMesh), /unknown data plane "nginx": use envoy or meshwork/);
  });

  it('leaves ISTIO_META_MESH_ID out without a mesh id', () => {
    const { meshId: _omit, ...noMesh } = ctx;
    const proxy = container(injected(helloworldPod(), noMesh), 'istio-proxy');
    assert.equal(proxy.env?.some((e) => e.name === 'ISTIO_META_MESH_ID'), false);
  });
});

describe('injectPod: the CA and the mesh root', () => {
  it('gives the proxy CA_ADDR, MESHWORK_ROOT_CERT (the root PEM) and TRUST_DOMAIN beside XDS_ADDRESS', () => {
    const root = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const secure = { ...ctx, xdsAddress: '127.232.0.5:15012', caAddress: '127.232.0.5:15012', rootCertPem: root, trustDomain: 'mesh.example' };
    const proxy = container(injected(helloworldPod(), secure), 'istio-proxy');
    assert.equal(envValue(proxy, 'XDS_ADDRESS'), '127.232.0.5:15012');
    assert.equal(envValue(proxy, 'CA_ADDR'), '127.232.0.5:15012');
    assert.equal(envValue(proxy, 'MESHWORK_ROOT_CERT'), root);
    assert.equal(envValue(proxy, 'TRUST_DOMAIN'), 'mesh.example');
  });

  it('ProxyConfig.discoveryAddress (the mesh\'s defaultConfig, then the pod\'s annotation) is XDS_ADDRESS and CA_ADDR: a control plane outside the cluster', () => {
    const secure = { ...ctx, xdsAddress: '127.233.0.9:15012', caAddress: '127.233.0.9:15012', meshProxyConfig: { discoveryAddress: '127.232.0.5:15012' } };
    const proxy = container(injected(helloworldPod(), secure), 'istio-proxy');
    assert.equal(envValue(proxy, 'XDS_ADDRESS'), '127.232.0.5:15012');
    assert.equal(envValue(proxy, 'CA_ADDR'), '127.232.0.5:15012');
    const annotated = helloworldPod({ annotations: { 'proxy.istio.io/config': 'discoveryAddress: cp.example:15012' } });
    const own = container(injected(annotated, secure), 'istio-proxy');
    assert.equal(envValue(own, 'XDS_ADDRESS'), 'cp.example:15012');
    assert.equal(envValue(own, 'CA_ADDR'), 'cp.example:15012');
    // Without it, the Service's address the injector was given.
    const plain = container(injected(helloworldPod(), { ...secure, meshProxyConfig: {} }), 'istio-proxy');
    assert.equal(envValue(plain, 'XDS_ADDRESS'), '127.233.0.9:15012');
  });
});

describe('injectPod: gateway template', () => {
  it('fills in the scenario ingress gateway: image auto becomes the proxy image, args router, no http_proxy', () => {
    const deployment = parseScenarioDeployment();
    const template = deployment.spec.template;
    const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { ...template.metadata, namespace: 'istio-gateway', name: 'istio-ingressgateway-abc' }, spec: template.spec };
    const after = injected(pod);
    assert.equal(after.spec.containers.length, 1);
    const proxy = container(after, 'istio-proxy');
    assert.equal(proxy.image, ctx.proxyImage);
    assert.deepEqual(proxy.args, ['proxy', 'router']);
    assert.equal(envValue(proxy, 'XDS_ADDRESS'), ctx.xdsAddress);
    assert.equal(proxy.env?.some((e) => e.name === 'http_proxy'), false);
    // The pod's own ports come first (the kubelet takes the first as the container's), the template's after.
    assert.deepEqual(proxy.ports?.map((p) => p.containerPort), [15021, 80, 443, 15090]);
    assert.equal(after.metadata.labels?.['service.istio.io/canonical-name'], 'istio-ingressgateway');
    assert.equal(after.metadata.labels?.['security.istio.io/tlsMode'], undefined);
    assert.equal(JSON.parse(after.metadata.annotations?.[STATUS_ANNOTATION] ?? '{}').containers[0], 'istio-proxy');
  });

  it('keeps an explicit proxy image', () => {
    const pod = helloworldPod({ annotations: { 'inject.istio.io/templates': 'gateway' } });
    pod.spec.containers = [{ name: 'istio-proxy', image: 'example.com/my-proxy:1' }];
    assert.equal(container(injected(pod), 'istio-proxy').image, 'example.com/my-proxy:1');
  });

  it('names the templates it has when asked for an unknown one', () => {
    const pod = helloworldPod({ annotations: { 'inject.istio.io/templates': 'grpc-agent' } });
    assert.throws(() => injectPod(pod, ctx), /requested template "grpc-agent" not found; have gateway, sidecar/);
  });
});

describe('injectPod: the pod\'s ProxyConfig (meshConfig.defaultConfig, then proxy.istio.io/config)', () => {
  const gatewayPod = (annotation?: string): Pod => {
    const pod = helloworldPod({ annotations: { 'inject.istio.io/templates': 'gateway', ...(annotation !== undefined ? { 'proxy.istio.io/config': annotation } : {}) } });
    pod.spec.containers = [{ name: 'istio-proxy', image: 'auto' }];
    return pod;
  };
  const meshDefault = { ...ctx, meshProxyConfig: { gatewayTopology: { numTrustedProxies: 1, forwardClientCertDetails: 'SANITIZE' as const } } };
  const proxyConfigOf = (pod: Pod): unknown => JSON.parse(envValue(container(pod, 'istio-proxy'), 'PROXY_CONFIG') ?? 'null');

  it('PROXY_CONFIG is the mesh default with the annotation merged over it (JSON or YAML), field by field', () => {
    assert.deepEqual(proxyConfigOf(injected(gatewayPod(), meshDefault)), { gatewayTopology: { numTrustedProxies: 1, forwardClientCertDetails: 'SANITIZE' } });
    assert.deepEqual(proxyConfigOf(injected(gatewayPod('{"gatewayTopology":{"numTrustedProxies":2}}'), meshDefault)), { gatewayTopology: { numTrustedProxies: 2, forwardClientCertDetails: 'SANITIZE' } });
    assert.deepEqual(proxyConfigOf(injected(gatewayPod('gatewayTopology:\n  forwardClientCertDetails: APPEND_FORWARD\n'), meshDefault)), { gatewayTopology: { numTrustedProxies: 1, forwardClientCertDetails: 'APPEND_FORWARD' } });
    assert.deepEqual(proxyConfigOf(injected(gatewayPod())), {}, 'no mesh config: an empty ProxyConfig (Istio\'s defaults)');
  });

  it('proxyMetadata becomes the proxy container\'s environment (the annotation\'s over the mesh default\'s), as Istio\'s template', () => {
    const mesh = { ...ctx, meshProxyConfig: { proxyMetadata: { SECRET_TTL: '12h', ISTIO_DELTA_XDS: 'true' } } };
    const proxy = container(injected(gatewayPod('proxyMetadata:\n  SECRET_TTL: 2m\n'), mesh), 'istio-proxy');
    assert.equal(envValue(proxy, 'SECRET_TTL'), '2m');
    assert.equal(envValue(proxy, 'ISTIO_DELTA_XDS'), 'true');
    assert.equal(proxy.env?.filter((e) => e.name === 'SECRET_TTL').length, 1);
    const bad = injectPod(gatewayPod('proxyMetadata:\n  SECRET_TTL: 120\n'), ctx);
    assert.match(bad.warnings?.join('\n') ?? '', /proxyMetadata.SECRET_TTL: expected a string, got 120/);
  });

  it('passes the annotation itself to the agent by the downward API, only when the pod has one', () => {
    const proxy = container(injected(gatewayPod('{"gatewayTopology":{"numTrustedProxies":2}}')), 'istio-proxy');
    assert.deepEqual(proxy.env?.find((e) => e.name === 'PROXY_CONFIG_ANNOTATION'), { name: 'PROXY_CONFIG_ANNOTATION', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: "metadata.annotations['proxy.istio.io/config']" } } });
    assert.equal(container(injected(gatewayPod()), 'istio-proxy').env?.some((e) => e.name === 'PROXY_CONFIG_ANNOTATION'), false);
  });

  it('an invalid annotation does not stop the injection: the mesh default is used and a warning says why', () => {
    for (const [annotation, why] of [
      ['{"gatewayTopology":{"numTrustedProxies":1}', /not YAML or JSON/],
      ['{"gatewayTopology":{"numTrustedProxies":-1}}', /numTrustedProxies: expected a whole number from 0 to 4294967295, got -1/],
      ['{"gatewayTopology":{"forwardClientCertDetails":"KEEP"}}', /forwardClientCertDetails: expected one of SANITIZE, FORWARD_ONLY, APPEND_FORWARD, SANITIZE_SET, ALWAYS_FORWARD_ONLY, got "KEEP"/],
      ['{"gatewayTopology":{"numTrustedProxie":1}}', /gatewayTopology\.numTrustedProxie: unknown field/],
    ] as const) {
      const pod = gatewayPod(annotation);
      const result = injectPod(pod, meshDefault);
      assert.ok(result.patch.length > 0, 'injected anyway');
      assert.equal(result.warnings?.length, 1);
      assert.match(result.warnings?.[0] ?? '', /^annotation proxy\.istio\.io\/config is invalid: /);
      assert.match(result.warnings?.[0] ?? '', why);
      assert.match(result.warnings?.[0] ?? '', /the proxy runs with the mesh's default proxy config$/);
      assert.deepEqual(proxyConfigOf(readPod(applyJsonPatch(pod, result.patch))), meshDefault.meshProxyConfig);
    }
  });
});

describe('injectPod: when not to inject', () => {
  const cases: Array<[string, Pod, RegExp]> = [
    ['opt-out label', helloworldPod({ labels: { 'sidecar.istio.io/inject': 'false' } }), /opts out/],
    ['opt-out annotation', helloworldPod({ annotations: { 'sidecar.istio.io/inject': 'false' } }), /opts out/],
    ['already injected', helloworldPod({ annotations: { [STATUS_ANNOTATION]: '{}' } }), /already injected/],
  ];
  for (const [name, pod, reason] of cases) {
    it(name, () => {
      const result = injectPod(pod, ctx);
      assert.deepEqual(result.patch, []);
      assert.match(result.skipped ?? '', reason);
    });
  }

  it('the label wins over the annotation', () => {
    const pod = helloworldPod({ labels: { 'sidecar.istio.io/inject': 'true' }, annotations: { 'sidecar.istio.io/inject': 'false' } });
    assert.equal(injectPod(pod, ctx).skipped, undefined);
  });

  it('a second injection of an injected pod changes nothing', () => {
    const once = injected(helloworldPod());
    assert.match(injectPod(once, ctx).skipped ?? '', /already injected/);
  });

  it('rejects what is not a pod', () => {
    assert.throws(() => injectPod({ kind: 'Pod', metadata: {}, spec: { containers: 'x' } }, ctx), /spec.containers must be a list/);
  });
});

interface ScenarioDeployment {
  spec: { template: { metadata: Pod['metadata']; spec: Pod['spec'] } };
}

function parseScenarioDeployment(): ScenarioDeployment {
  const text = readFileSync('/work/shared/scenario/istio-ingressgateway/deployment.yaml', 'utf8');
  const docs = text.split(/^---$/m).map((d) => parse(d) as { kind?: string });
  const deployment = docs.find((d) => d?.kind === 'Deployment');
  assert.ok(deployment);
  return deployment as ScenarioDeployment;
}
