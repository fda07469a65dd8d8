import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FieldSet, fieldElement, keyElement, pathText } from './field-set.js';
import type { JsonObject } from '../../k8s/patch/json.js';
import { SchemaMismatch, compare, merge, removeFields, toFieldSet } from './typed-ops.js';
import { kindTypedNode, typedNodeOf } from './typed-schema.js';
import { shapeFromJsonSchema } from '../../config/schemas/field-shape.js';
import type { TypedNode } from './typed-schema.js';

function schema(apiVersion: string, kind: string): TypedNode {
  const node = kindTypedNode(apiVersion, kind);
  assert.ok(node, `${apiVersion} ${kind} has a schema`);
  return node;
}
const DEPLOYMENT = schema('apps/v1', 'Deployment');
const SERVICE = schema('v1', 'Service');
const CONFIGMAP = schema('v1', 'ConfigMap');
const VIRTUAL_SERVICE = schema('networking.istio.io/v1', 'VirtualService');
const f = fieldElement;
const paths = (set: FieldSet) => set.paths().map(pathText);

function deployment(spec: JsonObject): JsonObject {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec };
}
const container = (extra: JsonObject = {}): JsonObject => ({ name: 'web', image: 'nginx', ...extra });
const template = (containers: JsonObject[]): JsonObject => ({ template: { spec: { containers } } });

describe('toFieldSet', () => {
  test('struct fields are owned through their leaves; list items and map entries are members', () => {
    const set = toFieldSet(deployment({ replicas: 2, ...template([container()]) }), DEPLOYMENT);
    assert.deepEqual(paths(set), [
      '.apiVersion',
      '.kind',
      '.metadata.name',
      '.spec.replicas',
      '.spec.template.spec.containers[name="web"]',
      '.spec.template.spec.containers[name="web"].image',
      '.spec.template.spec.containers[name="web"].name',
    ]);
  });

  test('a label selector is atomic: one leaf', () => {
    const set = toFieldSet(deployment({ selector: { matchLabels: { app: 'web' } } }), DEPLOYMENT);
    assert.equal(set.has([f('spec'), f('selector')]), true);
    assert.equal(set.hasPrefix([f('spec'), f('selector'), f('matchLabels')]), false);
  });

  test('container ports are keyed by containerPort and protocol, TCP when omitted', () => {
    const set = toFieldSet(deployment(template([container({ ports: [{ containerPort: 80 }, { containerPort: 53, protocol: 'UDP' }] })])), DEPLOYMENT);
    const ports = [f('spec'), f('template'), f('spec'), f('containers'), keyElement([['name', 'web']]), f('ports')];
    assert.equal(set.has([...ports, keyElement([['containerPort', 80], ['protocol', 'TCP']])]), true);
    assert.equal(set.has([...ports, keyElement([['containerPort', 53], ['protocol', 'UDP']])]), true);
  });

  test('labels and ConfigMap data are maps: every key is a member', () => {
    const set = toFieldSet({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { a: '1' } }, data: { k: 'v' } }, CONFIGMAP);
    assert.equal(set.has([f('metadata'), f('labels'), f('a')]), true);
    assert.equal(set.has([f('data'), f('k')]), true);
    assert.equal(set.has([f('data')]), false);
  });

  test('an empty map and a null are members themselves', () => {
    const set = toFieldSet(deployment({ strategy: {}, paused: null }), DEPLOYMENT);
    assert.equal(set.has([f('spec'), f('strategy')]), true);
    assert.equal(set.has([f('spec'), f('paused')]), true);
  });

  test('finalizers are a set: each value is a member', () => {
    const set = toFieldSet({ metadata: { finalizers: ['a', 'b'] } }, DEPLOYMENT);
    assert.deepEqual(paths(set), ['.metadata.finalizers[="a"]', '.metadata.finalizers[="b"]']);
  });

  test('Istio lists are atomic (the CRD schemas declare no list type)', () => {
    const set = toFieldSet({ spec: { hosts: ['a'], http: [{ route: [{ destination: { host: 'a' } }] }] } }, VIRTUAL_SERVICE);
    assert.deepEqual(paths(set), ['.spec.hosts', '.spec.http']);
  });

  test('strict: an undeclared field is a SchemaMismatch naming its path', () => {
    assert.throws(() => toFieldSet(deployment({ bogus: 1 }), DEPLOYMENT, { strict: true }), (err: unknown) => err instanceof SchemaMismatch && err.message === '.spec.bogus: field not declared in schema');
    assert.throws(() => toFieldSet(deployment(template([container({ imagePullPolicyy: 'x' })])), DEPLOYMENT, { strict: true }), /\.spec\.template\.spec\.containers\[name="web"\]\.imagePullPolicyy: field not declared in schema/);
  });

  test('strict: repeated keys and items without their key are refused', () => {
    assert.throws(() => toFieldSet(deployment(template([container(), container()])), DEPLOYMENT, { strict: true }), /duplicate entries for key \[name="web"\]/);
    assert.throws(() => toFieldSet({ metadata: { ownerReferences: [{ uid: 'u' }, { name: 'x' }] } }, SERVICE, { strict: true }), /\.metadata\.ownerReferences: element 1: associative list with keys has an element that omits all key fields \["uid"\]/);
    // A key with a default is filled in: a port without protocol is the TCP one.
    assert.throws(() => toFieldSet({ spec: { ports: [{ port: 80 }, { port: 80, protocol: 'TCP' }] } }, SERVICE, { strict: true }), /duplicate entries for key \[port=80,protocol="TCP"\]/);
  });
});

describe('custom kinds: list types from the JSON schema', () => {
  test('x-kubernetes-list-type map with x-kubernetes-list-map-keys merges by key; set by value', () => {
    const shape = shapeFromJsonSchema(
      {
        type: 'object',
        properties: {
          rules: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'], items: { type: 'object', properties: { name: { type: 'string' }, port: { type: 'integer' } } } },
          tags: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
          plain: { type: 'array', items: { type: 'string' } },
        },
      },
      () => undefined,
    );
    const node = typedNodeOf(shape);
    const set = toFieldSet({ rules: [{ name: 'a', port: 1 }], tags: ['x'], plain: ['y'] }, node);
    assert.deepEqual(paths(set), ['.plain', '.rules[name="a"]', '.rules[name="a"].name', '.rules[name="a"].port', '.tags[="x"]']);
    const merged = merge({ rules: [{ name: 'a', port: 1 }, { name: 'b', port: 2 }] }, { rules: [{ name: 'a', port: 9 }] }, node);
    assert.deepEqual(merged.rules, [{ name: 'a', port: 9 }, { name: 'b', port: 2 }]);
  });
});

describe('compare', () => {
  test('a changed scalar is modified, a new one added, a gone one removed', () => {
    const c = compare(deployment({ replicas: 1, paused: true }), deployment({ replicas: 2, minReadySeconds: 5 }), DEPLOYMENT);
    assert.deepEqual(paths(c.modified), ['.spec.replicas']);
    assert.deepEqual(paths(c.added), ['.spec.minReadySeconds']);
    assert.deepEqual(paths(c.removed), ['.spec.paused']);
  });

  test('a new map is itself added, with its entries', () => {
    const c = compare({ metadata: { name: 'x' } }, { metadata: { name: 'x', labels: { a: '1' } } }, CONFIGMAP);
    assert.deepEqual(paths(c.added), ['.metadata.labels', '.metadata.labels.a']);
  });

  test('structs Go always serializes are not added when first filled (f:spec without ".")', () => {
    const c = compare({}, deployment({ replicas: 1, strategy: { type: 'Recreate' } }), DEPLOYMENT);
    assert.equal(c.added.has([f('spec')]), false);
    assert.equal(c.added.has([f('spec'), f('strategy')]), false);
    assert.equal(c.added.has([f('spec'), f('strategy'), f('type')]), true);
  });

  test('a custom kind has no such structs: its spec is added', () => {
    const c = compare({}, { spec: { hosts: ['a'] } }, VIRTUAL_SERVICE);
    assert.deepEqual(paths(c.added), ['.spec', '.spec.hosts']);
  });

  test('list items compare by key, not by position', () => {
    const before = deployment(template([container({ name: 'a' }), container({ name: 'b' })]));
    const after = deployment(template([container({ name: 'b', image: 'v2' }), container({ name: 'a' })]));
    const c = compare(before, after, DEPLOYMENT);
    assert.deepEqual(paths(c.modified), ['.spec.template.spec.containers[name="b"].image']);
    assert.equal(c.added.isEmpty(), true);
  });

  test('an atomic list changes as one value', () => {
    const c = compare({ spec: { hosts: ['a'] } }, { spec: { hosts: ['a', 'b'] } }, VIRTUAL_SERVICE);
    assert.deepEqual(paths(c.modified), ['.spec.hosts']);
  });
});

describe('merge', () => {
  test('the configuration wins on scalars; live fields it does not name stay', () => {
    const out = merge(deployment({ replicas: 1, paused: true }), deployment({ replicas: 3 }), DEPLOYMENT);
    assert.deepEqual(out.spec, { replicas: 3, paused: true });
  });

  test('keyed items merge field by field; new ones join, live-only ones stay in place', () => {
    const live = deployment(template([container({ name: 'a', env: [{ name: 'X', value: '1' }] }), container({ name: 'side' })]));
    const config = deployment(template([container({ name: 'a', image: 'v2' }), container({ name: 'new' })]));
    const out = merge(live, config, DEPLOYMENT) as { spec: { template: { spec: { containers: JsonObject[] } } } };
    const containers = out.spec.template.spec.containers;
    assert.deepEqual(containers.map((c) => c.name), ['a', 'side', 'new']);
    assert.deepEqual(containers[0], { name: 'a', image: 'v2', env: [{ name: 'X', value: '1' }] });
  });

  test('the configuration orders the items it names', () => {
    const live = deployment(template([container({ name: 'a' }), container({ name: 'x' }), container({ name: 'b' })]));
    const out = merge(live, deployment(template([container({ name: 'b' }), container({ name: 'a' })])), DEPLOYMENT) as { spec: { template: { spec: { containers: JsonObject[] } } } };
    assert.deepEqual(out.spec.template.spec.containers.map((c) => c.name), ['x', 'b', 'a']);
  });

  test('an atomic value is replaced whole', () => {
    const out = merge(deployment({ selector: { matchLabels: { a: '1', b: '2' } } }), deployment({ selector: { matchLabels: { a: '1' } } }), DEPLOYMENT);
    assert.deepEqual(out.spec, { selector: { matchLabels: { a: '1' } } });
    const vs = merge({ spec: { http: [{ timeout: '1s' }, { timeout: '2s' }] } }, { spec: { http: [{ timeout: '3s' }] } }, VIRTUAL_SERVICE);
    assert.deepEqual(vs.spec, { http: [{ timeout: '3s' }] });
  });

  test('sets are unions; a null in the configuration unsets the field', () => {
    const out = merge({ metadata: { finalizers: ['a'] }, spec: { paused: true } }, { metadata: { finalizers: ['b'] }, spec: { paused: null } }, DEPLOYMENT);
    assert.deepEqual(out, { metadata: { finalizers: ['a', 'b'] }, spec: {} });
  });
});

describe('removeFields (the prune of an apply)', () => {
  const live = deployment({ replicas: 3, paused: true, strategy: { type: 'Recreate' }, ...template([container({ name: 'a' }), container({ name: 'b' })]) });
  const spec = (...rest: string[]) => [f('spec'), ...rest.map(f)];

  test('a field named and not kept goes; one kept stays', () => {
    const out = removeFields(live, FieldSet.of(spec('replicas'), spec('paused')), FieldSet.of(spec('paused')), DEPLOYMENT);
    assert.equal((out.spec as JsonObject).replicas, undefined);
    assert.equal((out.spec as JsonObject).paused, true);
  });

  test('a struct goes whole when nothing kept is below it, up to the first one that keeps something', () => {
    const out = removeFields(live, FieldSet.of(spec('strategy', 'type')), FieldSet.of(spec('replicas')), DEPLOYMENT);
    assert.equal((out.spec as JsonObject).strategy, undefined);
    assert.equal((out.spec as JsonObject).replicas, 3);
    assert.equal(removeFields(live, FieldSet.of(spec('strategy', 'type')), new FieldSet(), DEPLOYMENT).spec, undefined);
  });

  test('a keyed item goes; its siblings stay', () => {
    const item = [...spec('template', 'spec', 'containers'), keyElement([['name', 'b']])];
    const keep = FieldSet.of([...spec('template', 'spec', 'containers'), keyElement([['name', 'a']])]);
    const out = removeFields(live, FieldSet.of(item, [...item, f('image')]), keep, DEPLOYMENT) as { spec: { template: { spec: { containers: JsonObject[] } } } };
    assert.deepEqual(out.spec.template.spec.containers.map((c) => c.name), ['a']);
  });

  test('a struct with a kept field below keeps it and loses the rest', () => {
    const out = removeFields(live, FieldSet.of(spec('replicas'), spec('strategy', 'type')), FieldSet.of(spec('strategy', 'type')), DEPLOYMENT);
    assert.deepEqual((out.spec as JsonObject).strategy, { type: 'Recreate' });
    assert.equal((out.spec as JsonObject).replicas, undefined);
  });
});
