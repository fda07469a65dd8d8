import { scenarioDir } from '../../test/helpers/paths.js';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { applyDefaults } from './defaults.js';
import { RESOURCE_TYPES, type ResourceType, apiVersionOf, findByApiVersionKind } from '../k8s/kinds.js';
import type { KubeObject } from '../k8s/object.js';
import { schemaKeys } from './schemas/kind-schemas.js';
import type { FieldCause } from '../k8s/status.js';
import { validateObject } from './validate.js';

const SCENARIO = scenarioDir();

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : p.endsWith('.yaml') ? [p] : [];
  });
}

function typeOf(obj: KubeObject): ResourceType {
  const t = findByApiVersionKind(obj.apiVersion, obj.kind);
  assert.ok(t, `no resource type for ${obj.apiVersion} ${obj.kind}`);
  return t;
}

function validate(obj: KubeObject, strict = true): FieldCause[] {
  return validateObject(typeOf(obj), obj, { strict });
}

function causeAt(causes: FieldCause[], field: string): FieldCause {
  const found = causes.find((c) => c.field === field);
  assert.ok(found, `no cause for ${field} in ${JSON.stringify(causes, null, 1)}`);
  return found;
}

function deployment(overrides: { selector?: unknown; labels?: Record<string, string>; containers?: unknown[]; name?: string } = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: overrides.name ?? 'web', namespace: 'sample' },
    spec: {
      selector: 'selector' in overrides ? overrides.selector : { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: overrides.labels ?? { app: 'web' } },
        spec: { containers: overrides.containers ?? [{ name: 'web', image: 'nginx:1.27' }] },
      },
    },
  };
}

describe('validateObject: the scenario', () => {
  const files = filesUnder(SCENARIO);
  it('finds the scenario files', () => assert.ok(files.length >= 10, `only ${files.length} files`));
  for (const file of files) {
    it(`accepts ${file.slice(SCENARIO.length + 1)} unchanged, strict, before and after defaults`, () => {
      const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as KubeObject);
      assert.ok(docs.length > 0);
      for (const obj of docs) {
        assert.deepEqual(validate(obj), [], `${obj.kind}/${obj.metadata.name}`);
        assert.deepEqual(validate(applyDefaults(typeOf(obj), obj)), [], `${obj.kind}/${obj.metadata.name} defaulted`);
      }
    });
  }
});

describe('validateObject: schema errors', () => {
  it('reports a string weight as the apiserver does', () => {
    const vs: KubeObject = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'helloworld' },
      spec: { hosts: ['helloworld'], http: [{ route: [{ destination: { host: 'helloworld' }, weight: 'eighty' }] }] },
    };
    assert.deepEqual(validate(vs), [
      {
        reason: 'FieldValueTypeInvalid',
        field: 'spec.http[0].route[0].weight',
        message: 'Invalid value: "string": spec.http[0].route[0].weight in body must be of type integer: "string"',
      },
    ]);
  });

  it('uses the same schema for every served Istio networking version', () => {
    for (const version of ['v1alpha3', 'v1beta1', 'v1']) {
      const dr: KubeObject = { apiVersion: `networking.istio.io/${version}`, kind: 'DestinationRule', metadata: { name: 'd' }, spec: { host: 7 } };
      assert.equal(causeAt(validate(dr), 'spec.host').reason, 'FieldValueTypeInvalid', version);
    }
  });

  it('reports missing required fields', () => {
    const slice: KubeObject = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 's' }, endpoints: [] };
    assert.deepEqual(causeAt(validate(slice), 'addressType'), { reason: 'FieldValueRequired', field: 'addressType', message: 'Required value' });
  });

  it('reports enum violations with the supported values', () => {
    const pa: KubeObject = { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'p' }, spec: { mtls: { mode: 'LOOSE' } } };
    const cause = causeAt(validate(pa), 'spec.mtls.mode');
    assert.equal(cause.reason, 'FieldValueNotSupported');
    assert.match(cause.message, /^Unsupported value: "LOOSE": supported values: "UNSET", "DISABLE", "PERMISSIVE", "STRICT"$/);
  });

  it('checks the Service spec inside a MultiClusterService template against the ServiceSpec schema', () => {
    const mcs: KubeObject = {
      apiVersion: 'networking.gke.io/v1',
      kind: 'MultiClusterService',
      metadata: { name: 'gw' },
      spec: { template: { spec: { ports: [{ port: 'eighty', name: 'http' }] } }, clusters: [{ link: 'us-central1/gke-us' }, {}] },
    };
    const causes = validate(mcs);
    assert.equal(causeAt(causes, 'spec.template.spec.ports[0].port').reason, 'FieldValueTypeInvalid');
    assert.deepEqual(causeAt(causes, 'spec.clusters[1].link'), { reason: 'FieldValueRequired', field: 'spec.clusters[1].link', message: 'Required value' });
  });

  it('requires a MultiClusterIngress backend to name a service', () => {
    const mci: KubeObject = {
      apiVersion: 'networking.gke.io/v1beta1',
      kind: 'MultiClusterIngress',
      metadata: { name: 'in' },
      spec: { template: { spec: { backend: { servicePort: 80 }, rules: [{ http: { paths: [{ path: '/', backend: { serviceName: 'a', servicePort: 'http' } }] } }] } } },
      status: { VIP: '127.0.0.9', CloudResources: { Firewalls: [] }, extra: true },
    };
    assert.deepEqual(validate(mci), [
      { reason: 'FieldValueRequired', field: 'spec.template.spec.backend.serviceName', message: 'Required value' },
    ]);
  });

  it('checks BackendConfig with the GKE schema', () => {
    const bc: KubeObject = { apiVersion: 'cloud.google.com/v1', kind: 'BackendConfig', metadata: { name: 'b' }, spec: { healthCheck: { port: '15021' } } };
    assert.equal(causeAt(validate(bc), 'spec.healthCheck.port').reason, 'FieldValueTypeInvalid');
  });

  it('rejects an apiVersion the type does not serve', () => {
    const t = typeOf({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: {} });
    const causes = validateObject(t, { ...deployment(), apiVersion: 'apps/v1beta1' }, { strict: false });
    assert.equal(causes[0].reason, 'FieldValueNotSupported');
    assert.equal(causes[0].field, 'apiVersion');
  });
});

describe('validateObject: strict unknown fields', () => {
  it('flags unknown fields only with strict', () => {
    const vs: KubeObject = {
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'VirtualService',
      metadata: { name: 'v', labels: { 'app.kubernetes.io/name': 'x' } },
      spec: { foo: 1, hosts: ['a'], http: [{ route: [{ destination: { host: 'a', colour: 'red' } }] }] },
    };
    assert.deepEqual(validate(vs, true), [
      { reason: 'FieldValueUnknown', field: 'spec.foo', message: 'unknown field "spec.foo"' },
      { reason: 'FieldValueUnknown', field: 'spec.http[0].route[0].destination.colour', message: 'unknown field "spec.http[0].route[0].destination.colour"' },
    ]);
    assert.deepEqual(validate(vs, false), []);
  });

  it('flags unknown fields of built-in kinds, including metadata and containers', () => {
    const d = deployment({ containers: [{ name: 'web', image: 'nginx', imagePulPolicy: 'Always' }] });
    d.metadata.labelz = { a: 'b' };
    const fields = validate(d).filter((c) => c.reason === 'FieldValueUnknown').map((c) => c.field);
    assert.deepEqual(fields, ['metadata.labelz', 'spec.template.spec.containers[0].imagePulPolicy']);
  });

  it('does not flag map values and free-form fields', () => {
    const dr: KubeObject = {
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'DestinationRule',
      metadata: { name: 'd', annotations: { 'any/thing': 'x' } },
      spec: { host: 'h', subsets: [{ name: 'v1', labels: { version: 'v1', anything: 'goes' } }] },
      status: { conditions: [{ type: 'Reconciled' }], anything: {} },
    };
    assert.deepEqual(validate(dr), []);
    const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { 'some.key': 'v' } };
    assert.deepEqual(validate(cm), []);
  });

  it('flags unknown fields in GKE kinds and in the embedded Service spec', () => {
    const mcs: KubeObject = {
      apiVersion: 'networking.gke.io/v1',
      kind: 'MultiClusterService',
      metadata: { name: 'gw' },
      spec: { template: { spec: { ports: [{ port: 80, nme: 'http' }] } }, extra: 1 },
    };
    const bc: KubeObject = { apiVersion: 'cloud.google.com/v1', kind: 'BackendConfig', metadata: { name: 'b' }, spec: { healthCheck: { path: '/' } } };
    assert.deepEqual(validate(mcs).filter((c) => c.reason === 'FieldValueUnknown').map((c) => c.field), ['spec.template.spec.ports[0].nme', 'spec.extra']);
    assert.deepEqual(validate(bc).map((c) => c.field), ['spec.healthCheck.path']);
  });
});

describe('validateObject: apiserver semantics', () => {
  it('requires a name unless generateName is set', () => {
    const sa: KubeObject = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: {} };
    assert.deepEqual(validate(sa), [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
    assert.deepEqual(validate({ ...sa, metadata: { generateName: 'sleep-' } }), []);
  });

  it('checks names with the rule of each kind and the real messages', () => {
    assert.deepEqual(validate({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'Foo' } }), [
      {
        reason: 'FieldValueInvalid',
        field: 'metadata.name',
        message:
          "Invalid value: \"Foo\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
      },
    ]);
    const svc = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ port: 80 }] } });
    assert.match(causeAt(validate(svc('1web')), 'metadata.name').message, /^Invalid value: "1web": a DNS-1035 label must consist/);
    assert.deepEqual(validate(svc('web')), []);
    const sa: KubeObject = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'a.b' } };
    assert.deepEqual(validate(sa), [], 'a subdomain is a valid ServiceAccount name');
    assert.match(causeAt(validate({ ...sa, metadata: { name: 'a_b' } }), 'metadata.name').message, /RFC 1123 subdomain/);
  });

  it('checks label keys and values', () => {
    const sa: KubeObject = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'a', labels: { 'bad key': 'x', ok: 'bad value' } } };
    const causes = validate(sa);
    assert.equal(causes.length, 2);
    assert.ok(causes.every((c) => c.field === 'metadata.labels' && c.reason === 'FieldValueInvalid'));
    assert.match(causes[0].message, /^Invalid value: "bad key": name part must consist of alphanumeric characters/);
    assert.match(causes[1].message, /^Invalid value: "bad value": a valid label must be an empty string or consist of/);
  });

  it('requires a Deployment selector matching the template labels', () => {
    assert.deepEqual(validate(deployment({ selector: undefined })).map((c) => `${c.field}: ${c.message}`), ['spec.selector: Required value']);
    assert.deepEqual(validate(deployment({ labels: { app: 'other', tier: 'x' } })), [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.template.metadata.labels',
        message: 'Invalid value: map[string]string{"app":"other", "tier":"x"}: `selector` does not match template `labels`',
      },
    ]);
    const withExpressions = deployment({ selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] } });
    assert.deepEqual(validate(withExpressions), []);
  });

  it('checks containers: required, unique DNS-label names, image', () => {
    assert.deepEqual(validate(deployment({ containers: [] })).map((c) => `${c.field}: ${c.message}`), ['spec.template.spec.containers: Required value']);
    const causes = validate(deployment({ containers: [{ name: 'web', image: 'a' }, { name: 'web' }, { name: 'Side_car', image: 'b' }] }));
    assert.deepEqual(
      causes.map((c) => `${c.field}: ${c.reason}`),
      [
        'spec.template.spec.containers[1].name: FieldValueDuplicate',
        'spec.template.spec.containers[1].image: FieldValueRequired',
        'spec.template.spec.containers[2].name: FieldValueInvalid',
      ],
    );
    assert.equal(causes[0].message, 'Duplicate value: "web"');
  });

  it('accepts only restartPolicy Always in a workload template', () => {
    const d = deployment();
    const spec = (d.spec as { template: { spec: Record<string, unknown> } }).template.spec;
    spec.restartPolicy = 'Never';
    assert.deepEqual(validate(d), [
      { reason: 'FieldValueNotSupported', field: 'spec.template.spec.restartPolicy', message: 'Unsupported value: "Never": supported values: "Always"' },
    ]);
  });

  it('checks Service ports', () => {
    const svc = (spec: Record<string, unknown>): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec });
    assert.deepEqual(validate(svc({ selector: { app: 'a' } })).map((c) => `${c.field}: ${c.message}`), ['spec.ports: Required value']);
    assert.deepEqual(validate(svc({ clusterIP: 'None' })), [], 'headless services need no ports');
    assert.deepEqual(validate(svc({ type: 'ExternalName', externalName: 'example.com' })), []);
    assert.deepEqual(
      validate(svc({ ports: [{ name: 'http', port: 0 }, { port: 70000, protocol: 'HTTP', name: 'http' }] }))
        .map((c) => `${c.field}: ${c.message}`)
        .sort(),
      [
        'spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive',
        'spec.ports[1].name: Duplicate value: "http"',
        'spec.ports[1].port: Invalid value: 70000: must be between 1 and 65535, inclusive',
        'spec.ports[1].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
      ],
    );
    assert.deepEqual(validate(svc({ ports: [{ port: 80 }, { port: 81 }] })).map((c) => c.field), ['spec.ports[0].name', 'spec.ports[1].name']);
  });
});

describe('validateObject: Ingress and IngressClass, as the apiserver', () => {
  const ingress = (spec: unknown): KubeObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web', namespace: 'sample' }, spec });
  const backend = { service: { name: 'helloworld', port: { number: 5000 } } };

  it('accepts Istio\'s task Ingress and IngressClass, strict', () => {
    assert.deepEqual(validate(ingress({ ingressClassName: 'istio', rules: [{ host: 'httpbin.example.com', http: { paths: [{ path: '/status', pathType: 'Prefix', backend }] } }] })), []);
    assert.deepEqual(validate({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'istio' }, spec: { controller: 'istio.io/ingress-controller' } }), []);
  });

  it('needs rules or a default backend', () => {
    assert.equal(causeAt(validate(ingress({})), 'spec').message, 'Invalid value: []interface {}{}: either `defaultBackend` or `rules` must be specified');
  });

  it('needs a pathType, an absolute path for Exact and Prefix, and no dot segments', () => {
    const paths = [
      { path: '/a', backend },
      { path: 'a', pathType: 'Exact', backend },
      { path: '/a/../b', pathType: 'Prefix', backend },
      { path: '/a', pathType: 'Regex', backend },
      { path: '', pathType: 'ImplementationSpecific', backend },
    ];
    const causes = validate(ingress({ rules: [{ http: { paths } }] }));
    assert.equal(causeAt(causes, 'spec.rules[0].http.paths[0].pathType').message, 'Required value: pathType must be specified');
    assert.equal(causeAt(causes, 'spec.rules[0].http.paths[1].path').message, 'Invalid value: "a": must be an absolute path');
    assert.equal(causeAt(causes, 'spec.rules[0].http.paths[2].path').message, 'Invalid value: "/a/../b": must not contain \'/../\'');
    assert.equal(causeAt(causes, 'spec.rules[0].http.paths[3].pathType').message, 'Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"');
    assert.ok(!causes.some((c) => c.field.startsWith('spec.rules[0].http.paths[4]')), 'an empty ImplementationSpecific path is valid');
  });

  it('checks backends: one kind, a port name or number', () => {
    const paths = [
      { path: '/a', pathType: 'Prefix', backend: { service: { name: 'helloworld', port: {} } } },
      { path: '/b', pathType: 'Prefix', backend: { service: { name: 'helloworld', port: { name: 'http', number: 80 } } } },
      { path: '/c', pathType: 'Prefix', backend: {} },
    ];
    const causes = validate(ingress({ rules: [{ http: { paths } }] }));
    assert.equal(causeAt(causes, 'spec.rules[0].http.paths[0].backend').message, 'Required value: port name or number is required');
    assert.equal(causeAt(causes, 'spec.rules[0].http.paths[1].backend').message, 'Invalid value: "": cannot set both port name & port number');
    assert.equal(causeAt(causes, 'spec.rules[0].http.paths[2].backend').message, 'Invalid value: "": resource or service backend is required');
  });

  it('checks hosts: a DNS name or a leading wildcard, never an IP address', () => {
    const rule = (host: string) => ({ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend }] } });
    const causes = validate(ingress({ rules: [rule('*.example.com'), rule('10.0.0.1'), rule('a.*.com')], tls: [{ hosts: ['Bad_Host'] }] }));
    assert.ok(!causes.some((c) => c.field === 'spec.rules[0].host'), JSON.stringify(causes));
    assert.equal(causeAt(causes, 'spec.rules[1].host').message, 'Invalid value: "10.0.0.1": must be a DNS name, not an IP address');
    assert.match(causeAt(causes, 'spec.rules[2].host').message, /a wildcard DNS-1123 subdomain must start with '\*\.'/);
    assert.match(causeAt(causes, 'spec.tls[0].hosts[0]').message, /a lowercase RFC 1123 subdomain/);
  });

  it('needs an IngressClass controller that is a domain-prefixed path', () => {
    const cls = (controller?: string): KubeObject => ({ apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'c' }, spec: controller === undefined ? {} : { controller } });
    assert.equal(causeAt(validate(cls()), 'spec.controller').reason, 'FieldValueRequired');
    assert.equal(causeAt(validate(cls('istio')), 'spec.controller').message, 'Invalid value: "istio": must be a domain-prefixed path (such as "acme.io/foo")');
  });
});

describe('validateObject: coverage and speed', () => {
  it('has a schema for every served group/version/kind', () => {
    const keys = new Set(schemaKeys());
    for (const t of RESOURCE_TYPES) for (const v of t.versions) assert.ok(keys.has(`${apiVersionOf(t.group, v)}/${t.kind}`), `${t.kind} ${v}`);
  });

  it('validates a compiled kind fast', () => {
    const vs = { apiVersion: 'networking.istio.io/v1alpha3', kind: 'VirtualService', metadata: { name: 'v' }, spec: { hosts: ['a'] } };
    validate(vs);
    const start = process.hrtime.bigint();
    for (let i = 0; i < 500; i++) validate(deployment({ name: `d${i}` }));
    for (let i = 0; i < 500; i++) validate(vs);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    assert.ok(ms < 1000, `1000 validations took ${ms} ms`);
  });
});
