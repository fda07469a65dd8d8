// The CRDs `meshwork install` gives real clusters: structural by apiextensions' rules (structural-schema.ts,
// itself checked against schemas it must refuse), in agreement with config/kinds.ts, accepted by the
// CustomResourceDefinition validation the local API servers run, and accepting the scenario's real YAML
// (and the objects of the kinds the scenario lacks) with ajv, with nothing pruned, while refusing what the
// mesh's own validation refuses.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { BackendConfig } from '@kubernetes-models/gke/cloud.google.com/v1/BackendConfig';
import { applyDefaults } from '../config/defaults.js';
import { findByApiVersionKind, findByKind, parseApiVersion } from '../k8s/kinds.js';
import type { KubeObject } from '../k8s/object.js';
import { BACKEND_CONFIG_FIELDS } from '../config/schemas/gke.js';
import { validateObject } from '../config/validate.js';
import { customResourceTypes } from '../k8s/kinds.js';
import { BACKEND_CONFIG_SCHEMA } from './backend-config-schema.js';
import { clientModelSchema, toStructural, type Schema } from './crd-schema.js';
import { CRD_LABELS, crdSchemaOf, meshCrds } from './crds.js';
import { structuralProblems } from './structural-schema.js';

const SCENARIO = '/work/shared/scenario';

interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  subresources?: { status?: object };
  additionalPrinterColumns?: unknown[];
  schema: { openAPIV3Schema: Schema };
}
interface CrdSpec {
  group: string;
  scope: string;
  names: { kind: string; plural: string; singular: string; listKind: string; shortNames?: string[]; categories?: string[] };
  versions: CrdVersion[];
}
const specOf = (crd: KubeObject) => crd.spec as CrdSpec;

function yamlObjects(file: string): KubeObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

function scenarioObjects(): Array<{ file: string; obj: KubeObject }> {
  const out: Array<{ file: string; obj: KubeObject }> = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.yaml')) for (const obj of yamlObjects(path)) out.push({ file: path, obj });
    }
  };
  walk(SCENARIO);
  return out;
}

/** Objects of the served kinds and versions the scenario does not hold, written as users write them. */
const MORE_OBJECTS: KubeObject[] = [
  { apiVersion: 'security.istio.io/v1', kind: 'PeerAuthentication', metadata: { name: 'default', namespace: 'istio-system' }, spec: { mtls: { mode: 'STRICT' }, portLevelMtls: { '8080': { mode: 'PERMISSIVE' } } } },
  {
    apiVersion: 'security.istio.io/v1beta1',
    kind: 'AuthorizationPolicy',
    metadata: { name: 'allow-sleep', namespace: 'sample' },
    spec: { selector: { matchLabels: { app: 'helloworld' } }, action: 'ALLOW', rules: [{ from: [{ source: { principals: ['cluster.local/ns/sample/sa/sleep'] } }], to: [{ operation: { methods: ['GET'], paths: ['/hello'] } }] }] },
  },
  { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'httpbin', namespace: 'sample' }, spec: { hosts: ['httpbin.org'], ports: [{ number: 443, name: 'https', protocol: 'TLS' }], location: 'MESH_EXTERNAL', resolution: 'DNS' } },
  { apiVersion: 'networking.istio.io/v1beta1', kind: 'Sidecar', metadata: { name: 'default', namespace: 'sample' }, spec: { egress: [{ hosts: ['./*', 'istio-system/*'] }], outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } } },
  {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: 'helloworld', namespace: 'sample' },
    spec: {
      host: 'helloworld.sample.svc.cluster.local',
      trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: 'x-user' } }, connectionPool: { http: { http1MaxPendingRequests: 10 } }, outlierDetection: { consecutive5xxErrors: 3, interval: '1s', baseEjectionTime: '30s' } },
      subsets: [{ name: 'v1', labels: { version: 'v1' } }],
    },
  },
  {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'helloworld', namespace: 'sample' },
    spec: { hosts: ['helloworld'], http: [{ match: [{ uri: { prefix: '/hello' } }], retries: { attempts: 3, perTryTimeout: '2s' }, route: [{ destination: { host: 'helloworld', subset: 'v1', port: { number: 5000 } }, weight: 100 }] }] },
  },
  {
    apiVersion: 'rollouts.meshwork.io/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'helloworld', namespace: 'sample' },
    spec: { host: 'helloworld', baseline: { subset: 'v1' }, canary: { subset: 'v2' }, analysis: { interval: '30s', stepWeights: [10, 50], metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 } }] } },
  },
];

const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false }).addVocabulary(['x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string']);
const compiled = new Map<string, ReturnType<Ajv['compile']>>();
function crdValidator(apiVersion: string, kind: string) {
  const key = `${apiVersion}/${kind}`;
  let v = compiled.get(key);
  if (!v) {
    const { group, version } = parseApiVersion(apiVersion);
    v = ajv.compile(crdSchemaOf(group, version, kind));
    compiled.set(key, v);
  }
  return v;
}

/** The fields a real API server would prune from `value` (not declared by the structural schema). */
function pruned(value: unknown, schema: Schema, path: string, out: string[]): void {
  if (schema['x-kubernetes-preserve-unknown-fields'] === true || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    const items = schema.items as Schema | undefined;
    if (items) value.forEach((v, i) => pruned(v, items, `${path}[${i}]`, out));
    return;
  }
  const props = schema.properties as Record<string, Schema> | undefined;
  const extra = schema.additionalProperties as Schema | undefined;
  for (const [k, v] of Object.entries(value)) {
    // The API server prunes metadata by ObjectMeta's own schema, not the CRD's.
    if (path === '' && k === 'metadata') continue;
    const sub = props?.[k] ?? extra;
    if (!sub) out.push(`${path}.${k}`);
    else pruned(v, sub, `${path}.${k}`, out);
  }
}

function customObjects(): Array<{ where: string; obj: KubeObject }> {
  const custom = new Set(customResourceTypes().map((t) => `${t.group}/${t.kind}`));
  return [
    ...scenarioObjects().map(({ file, obj }) => ({ where: file, obj })),
    ...MORE_OBJECTS.map((obj) => ({ where: 'MORE_OBJECTS', obj })),
  ].filter(({ obj }) => custom.has(`${parseApiVersion(obj.apiVersion).group}/${obj.kind}`));
}

describe('the CRDs of the custom kinds', () => {
  const crds = meshCrds();

  it('one per custom kind of kinds.ts, with its names, scope, versions (storage first), short names, categories and status subresource', () => {
    const types = customResourceTypes();
    assert.deepEqual(crds.map((c) => c.metadata.name), types.map((t) => `${t.plural}.${t.group}`));
    assert.ok(types.length >= 11, `${types.length} custom kinds`);
    for (const t of types) {
      const spec = specOf(crds.find((c) => c.metadata.name === `${t.plural}.${t.group}`)!);
      assert.equal(spec.group, t.group);
      assert.equal(spec.scope, t.namespaced ? 'Namespaced' : 'Cluster');
      assert.deepEqual({ ...spec.names, shortNames: spec.names.shortNames ?? [], categories: spec.names.categories ?? [] }, { kind: t.kind, listKind: t.listKind, plural: t.plural, singular: t.singular, shortNames: t.shortNames, categories: t.categories });
      assert.deepEqual(spec.versions.map((v) => v.name), t.versions);
      assert.deepEqual(spec.versions.map((v) => [v.served, v.storage]), t.versions.map((_, i) => [true, i === 0]));
      for (const v of spec.versions) assert.equal(v.subresources?.status !== undefined, t.subresources.includes('status'), `${t.kind} ${v.name} status subresource`);
    }
    // Istio's own: networking v1 (storage), v1beta1, v1alpha3; security v1, v1beta1; the short names and categories kubectl users type.
    const vs = specOf(crds.find((c) => c.metadata.name === 'virtualservices.networking.istio.io')!);
    assert.deepEqual(vs.versions.map((v) => `${v.name}${v.storage ? '*' : ''}`), ['v1*', 'v1beta1', 'v1alpha3']);
    assert.deepEqual(vs.names.shortNames, ['vs']);
    assert.deepEqual(vs.names.categories, ['istio-io', 'networking-istio-io']);
    assert.deepEqual(specOf(crds.find((c) => c.metadata.name === 'authorizationpolicies.security.istio.io')!).versions.map((v) => v.name), ['v1', 'v1beta1']);
  });

  it('the Canary CRD carries the canary module\'s structural schema, its printer columns, the status subresource and the short name', () => {
    const crd = crds.find((c) => c.metadata.name === 'canaries.rollouts.meshwork.io') as unknown as { metadata: { labels: Record<string, string> }; spec: { names: { shortNames: string[] }; versions: Array<{ name: string; subresources: unknown; additionalPrinterColumns: Array<{ name: string }>; schema: { openAPIV3Schema: { properties: Record<string, { properties?: Record<string, unknown> }> } } }> } };
    assert.deepEqual(crd.metadata.labels, CRD_LABELS);
    assert.deepEqual(crd.spec.names.shortNames, ['canary']);
    const v = crd.spec.versions[0]!;
    assert.equal(v.name, 'v1alpha1');
    assert.deepEqual(v.subresources, { status: {} });
    assert.deepEqual(v.additionalPrinterColumns.map((c) => c.name), ['Host', 'Phase', 'Weight', 'Age']);
    assert.deepEqual(Object.keys(v.schema.openAPIV3Schema.properties.spec!.properties!).sort(), ['abort', 'analysis', 'baseline', 'canary', 'clusters', 'host', 'paused', 'promote', 'virtualServices']);
  });

  it('every version\'s schema is structural (apiextensions\' rules), with status open and metadata untouched', () => {
    let checked = 0;
    for (const crd of crds) {
      for (const v of specOf(crd).versions) {
        const schema = v.schema.openAPIV3Schema;
        assert.deepEqual(structuralProblems(schema, { subresources: v.subresources !== undefined }), [], `${crd.metadata.name} ${v.name}`);
        const props = schema.properties as Record<string, Schema>;
        assert.deepEqual(props.metadata, { type: 'object' });
        assert.equal(props.apiVersion?.type, 'string');
        assert.equal(props.spec?.type, 'object', `${crd.metadata.name} ${v.name} spec`);
        if (props.status) assert.equal(props.status['x-kubernetes-preserve-unknown-fields'], true);
        assert.ok(!JSON.stringify(schema).includes('"$ref"'), 'no $ref');
        checked++;
      }
    }
    assert.equal(checked, 23);
  });

  it('the local API server\'s CustomResourceDefinition validation accepts each (strict, defaulted)', () => {
    const t = findByKind('apiextensions.k8s.io', 'CustomResourceDefinition')!;
    for (const crd of crds) assert.deepEqual(validateObject(t, applyDefaults(t, structuredClone(crd)), { strict: true }), [], crd.metadata.name);
  });

  it('the scenario\'s YAML and an object of every other served version validate against them, nothing pruned', () => {
    const objects = customObjects();
    const kinds = new Set(objects.map(({ obj }) => `${obj.apiVersion}/${obj.kind}`));
    // The scenario's DestinationRule, Gateways, VirtualServices, BackendConfig, MultiClusterService and MultiClusterIngress, and the rest.
    assert.ok(objects.filter(({ where }) => where.startsWith(SCENARIO)).length >= 9, `${objects.length} objects`);
    assert.ok(kinds.size >= 13, [...kinds].join(', '));
    for (const { where, obj } of objects) {
      const validate = crdValidator(obj.apiVersion, obj.kind);
      assert.ok(validate(obj), `${where} ${obj.kind}/${obj.metadata.name}: ${JSON.stringify(validate.errors)}`);
      const { group, version } = parseApiVersion(obj.apiVersion);
      const lost: string[] = [];
      pruned(obj, crdSchemaOf(group, version, obj.kind), '', lost);
      assert.deepEqual(lost, [], `${where} ${obj.kind}/${obj.metadata.name}: fields a real API server would prune`);
      // And the mesh's own validation agrees that it is valid.
      const t = findByApiVersionKind(obj.apiVersion, obj.kind)!;
      assert.deepEqual(validateObject(t, applyDefaults(t, structuredClone(obj)), { strict: true }), [], `${where} ${obj.kind}`);
    }
  });

  it('refuses what the mesh refuses: wrong types, bad enums, a oneOf broken, a missing required field', () => {
    const [vs, dr, pa, mci, canary] = [
      MORE_OBJECTS.find((o) => o.kind === 'VirtualService')!,
      MORE_OBJECTS.find((o) => o.kind === 'DestinationRule')!,
      MORE_OBJECTS.find((o) => o.kind === 'PeerAuthentication')!,
      scenarioObjects().find(({ obj }) => obj.kind === 'MultiClusterIngress')!.obj,
      MORE_OBJECTS.find((o) => o.kind === 'Canary')!,
    ];
    const broken: Array<[string, KubeObject]> = [
      ['weight is a string', { ...vs, spec: { ...(vs.spec as object), http: [{ route: [{ destination: { host: 'helloworld' }, weight: 'half' }] }] } }],
      ['an unknown load balancer', { ...dr, spec: { host: 'h', trafficPolicy: { loadBalancer: { simple: 'FASTEST' } } } }],
      ['simple and consistentHash together (oneOf)', { ...dr, spec: { host: 'h', trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN', consistentHash: { useSourceIp: true } } } } }],
      ['unknown mTLS mode', { ...pa, spec: { mtls: { mode: 'SOMETIMES' } } }],
      ['MultiClusterIngress without a template', { ...mci, spec: {} }],
      ['Canary weight above 100', { ...canary, spec: { ...(canary.spec as object), analysis: { interval: '30s', metrics: [], stepWeights: [150] } } }],
    ];
    for (const [what, obj] of broken) {
      const validate = crdValidator(obj.apiVersion, obj.kind);
      assert.equal(validate(obj), false, `the CRD schema refuses: ${what}`);
      const t = findByApiVersionKind(obj.apiVersion, obj.kind)!;
      assert.notDeepEqual(validateObject(t, applyDefaults(t, structuredClone(obj)), { strict: false }), [], `the mesh refuses: ${what}`);
    }
  });

  it('a MultiClusterService template carries the real ServiceSpec: typed fields, targetPort int-or-string', () => {
    const schema = crdSchemaOf('networking.gke.io', 'v1', 'MultiClusterService');
    const spec = (((schema.properties as Record<string, Schema>).spec!.properties as Record<string, Schema>).template!.properties as Record<string, Schema>).spec!;
    const fields = spec.properties as Record<string, Schema>;
    assert.ok(Object.keys(fields).length >= 20, Object.keys(fields).join(', '));
    const port = ((fields.ports!.items as Schema).properties as Record<string, Schema>);
    assert.deepEqual(port.port, { type: 'integer', format: 'int32' });
    assert.deepEqual(port.targetPort, { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] });
    assert.deepEqual(fields.selector, { type: 'object', additionalProperties: { type: 'string' } });
  });

  it('BackendConfig: the same fields as the mesh\'s field list, the same verdicts as @kubernetes-models/gke', () => {
    const names = (s: Schema, path = ''): string[] => {
      const props = (s.type === 'array' ? (s.items as Schema) : s).properties as Record<string, Schema> | undefined;
      return props ? Object.entries(props).flatMap(([k, v]) => [`${path}${k}`, ...names(v, `${path}${k}.`)]) : [];
    };
    assert.deepEqual(names(BACKEND_CONFIG_SCHEMA).filter((n) => !n.startsWith('status')).sort(), names(BACKEND_CONFIG_FIELDS as Schema).filter((n) => !n.startsWith('status')).sort());
    const validate = ajv.compile(toStructural(BACKEND_CONFIG_SCHEMA, { root: true }));
    const base = { apiVersion: 'cloud.google.com/v1', kind: 'BackendConfig', metadata: { name: 'b' } };
    const samples: Array<Record<string, unknown>> = [
      { healthCheck: { port: 15021, requestPath: '/healthz/ready', type: 'HTTP' } },
      { healthCheck: { port: '15021' } },
      { healthCheck: { port: 1.5 } },
      { logging: { enable: true, sampleRate: 0.5 } },
      { cdn: { cacheMode: 'CACHE_ALL_STATIC' } },
      { cdn: { enabled: true, negativeCachingPolicy: [{ code: 404, ttl: 60 }] } },
      { iap: { enabled: true } },
      { iap: { enabled: true, oauthclientCredentials: { secretName: 's' } } },
      { securityPolicy: {} },
      { timeoutSec: 'long' },
    ];
    for (const spec of samples) {
      const obj = { ...base, spec };
      let modelOk = true;
      try {
        new BackendConfig(obj as never).validate();
      } catch {
        modelOk = false;
      }
      assert.equal(validate(obj), modelOk, JSON.stringify(spec));
    }
  });
});

describe('structuralProblems', () => {
  const root = (spec: Schema): Schema => ({ type: 'object', properties: { spec } });
  const cases: Array<[string, Schema, RegExp]> = [
    ['a field without a type', root({ type: 'object', properties: { a: { description: 'x' } } }), /properties\[a\]\.type: Required value: must not be empty for specified object fields/],
    ['array items without a type', root({ type: 'array', items: { minLength: 1 } }), /items\.type: Required value: must not be empty for specified array items/],
    ['an array without items', root({ type: 'array' }), /items: Required value: must be specified/],
    ['$ref', root({ $ref: '#/definitions/x' }), /\$ref: Forbidden: \$ref is not supported/],
    ['properties beside an additionalProperties schema', root({ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'string' } }), /additionalProperties and properties are mutual exclusive/],
    ['type inside oneOf', root({ type: 'object', properties: { a: { type: 'string' } }, oneOf: [{ type: 'object', required: ['a'] }] }), /oneOf\[0\]\.type: Forbidden: must be empty to be structural/],
    ['nullable inside anyOf', root({ type: 'object', properties: { a: { type: 'string' } }, anyOf: [{ nullable: true }] }), /anyOf\[0\]\.nullable: Forbidden: must be false to be structural/],
    ['a junctor naming a field the structure lacks', root({ type: 'object', properties: { a: { type: 'string' } }, oneOf: [{ properties: { b: { minLength: 1 } } }] }), /properties\[spec\]\.properties\[b\]: Required value: because it is defined in .*oneOf\[0\]\.properties\[b\]/],
    ['uniqueItems', root({ type: 'array', items: { type: 'string' }, uniqueItems: true }), /uniqueItems cannot be set to true/],
    ['type null', root({ type: 'null' }), /type cannot be set to null/],
    ['int-or-string that also preserves unknown fields', root({ 'x-kubernetes-int-or-string': true, 'x-kubernetes-preserve-unknown-fields': true }), /must be false if x-kubernetes-int-or-string is true/],
    ['a keyword CRDs do not know', root({ type: 'string', 'x-fields-of': 'V1ServiceSpec' }), /x-fields-of: unknown field/],
    ['metadata restricted beyond name', { type: 'object', properties: { metadata: { type: 'object', properties: { labels: { type: 'object' } } } } }, /must not specify anything other than name and generateName/],
    ['additionalProperties at the root', { type: 'object', additionalProperties: { type: 'string' } }, /openAPIV3Schema\.additionalProperties: Forbidden: must not be used at the root/],
    ['a non-object root', { type: 'string' }, /must be object at the root/],
    ['kind not a string', { type: 'object', properties: { kind: { type: 'integer' } } }, /properties\[kind\]\.type: Invalid value: "integer": must be string/],
    ['a default in top-level metadata', { type: 'object', properties: { metadata: { type: 'object', default: {} } } }, /default: Forbidden: must not be set in top-level metadata/],
  ];
  for (const [what, schema, expected] of cases) {
    it(`refuses ${what}`, () => {
      const problems = structuralProblems(schema);
      assert.ok(problems.some((p) => expected.test(p)), problems.join('\n') || 'no problem found');
    });
  }

  it('accepts the two int-or-string forms and preserve-unknown-fields without a type', () => {
    assert.deepEqual(structuralProblems(root({ type: 'object', properties: { p: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] }, q: { 'x-kubernetes-int-or-string': true, allOf: [{ anyOf: [{ type: 'integer' }, { type: 'string' }] }, { pattern: '^[0-9a-z]+$' }] }, r: { 'x-kubernetes-preserve-unknown-fields': true } } })), []);
  });

  it('with the status subresource, the root holds only what apiextensions allows there', () => {
    assert.match(structuralProblems({ type: 'object', properties: {}, nullable: true }, { subresources: true }).join('\n'), /openAPIV3Schema\.nullable: Forbidden: only .* are allowed at the root/);
  });
});

describe('toStructural', () => {
  it('types open nodes, opens declared-nothing objects, inlines ObjectMeta and client models, strips junctors, merges [T, null]', () => {
    const out = toStructural(
      {
        type: 'object',
        properties: {
          metadata: { oneOf: [{ $ref: 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta#' }, { type: 'null' }] },
          spec: {
            type: 'object',
            properties: {
              anything: {},
              struct: { type: 'object', properties: {} },
              map: { type: 'object', properties: {}, additionalProperties: { type: 'string' } },
              maybe: { type: ['string', 'null'] },
              tags: { type: 'array', items: { type: 'string' }, uniqueItems: true },
              svc: { type: 'object', 'x-fields-of': 'V1ServicePort' },
            },
            oneOf: [{ not: { anyOf: [{ required: ['anything'] }] } }, { required: ['anything'], type: 'object', description: 'x' }],
          },
        },
      },
      { root: true },
    );
    const spec = (out.properties as Record<string, Schema>).spec!;
    const p = spec.properties as Record<string, Schema>;
    assert.deepEqual((out.properties as Record<string, Schema>).metadata, { type: 'object' });
    assert.deepEqual(p.anything, { 'x-kubernetes-preserve-unknown-fields': true });
    assert.deepEqual(p.struct, { type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
    assert.deepEqual(p.map, { type: 'object', additionalProperties: { type: 'string' } });
    assert.deepEqual(p.maybe, { type: 'string', nullable: true });
    assert.deepEqual(p.tags, { type: 'array', items: { type: 'string' } });
    assert.deepEqual(p.svc, clientModelSchema('V1ServicePort'));
    assert.deepEqual(spec.oneOf, [{ not: { anyOf: [{ required: ['anything'] }] } }, { required: ['anything'] }]);
    assert.deepEqual(structuralProblems(out), []);
  });

  it('fails loudly on what it cannot express', () => {
    assert.throws(() => toStructural({ type: 'object', properties: { a: { $ref: '#/definitions/Other' } } }), /cannot make a structural schema: \.a: \$ref #\/definitions\/Other has no inline form/);
    assert.throws(() => toStructural({ type: 'object', properties: { a: { type: 'string', patternProperties: {} } } }), /\.a: keyword "patternProperties" has no structural form/);
    assert.throws(() => toStructural({ type: ['string', 'integer'] }), /a CRD field has one type/);
    assert.throws(() => clientModelSchema('V1NoSuchThing'), /@kubernetes\/client-node has no model V1NoSuchThing/);
  });
});
