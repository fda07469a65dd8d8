// The CRDs a local cluster registers are meshwork install's (install/crds.ts) with an open schema and the
// status a real CRD controller writes, so both modes show the same names, versions, columns and labels.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crdFor, meshCrds } from '../install/crds.js';
import { customResourceTypes, findByKind } from '../k8s/kinds.js';
import { registerClusterObjects } from './cluster-objects.js';
import { openSqliteStore } from './store/sqlite-store.js';

test('local CRDs: the install generator with an open schema, Established, one per custom kind', () => {
  const store = openSqliteStore({ path: ':memory:' });
  registerClusterObjects(store, { nodeName: 'cluster-1-node', nodeIp: '127.10.0.1', now: Date.parse('2026-01-01T00:00:00Z') });
  const crdType = findByKind('apiextensions.k8s.io', 'CustomResourceDefinition')!;
  const local = store.list(crdType).items;
  assert.deepEqual(local.map((c) => c.metadata.name).sort(), meshCrds().map((c) => c.metadata.name).sort());
  for (const t of customResourceTypes()) {
    const registered = local.find((c) => c.metadata.name === `${t.plural}.${t.group}`)!;
    const installed = crdFor(t);
    assert.deepEqual(registered.metadata.labels, installed.metadata.labels, t.kind);
    const spec = registered.spec as { versions: Array<Record<string, unknown>> };
    const want = installed.spec as { versions: Array<Record<string, unknown>> };
    // Everything but the schema is install's: names, scope, versions, printer columns, subresources.
    const withoutSchema = (s: { versions: Array<Record<string, unknown>> }) => ({ ...s, versions: s.versions.map(({ schema: _schema, ...v }) => v) });
    assert.deepEqual(withoutSchema(spec), withoutSchema(want), t.kind);
    for (const v of spec.versions) assert.deepEqual(v.schema, { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } }, `${t.kind} ${String(v.name)}`);
    const status = registered.status as { storedVersions: string[]; conditions: Array<{ type: string; status: string }> };
    assert.deepEqual(status.storedVersions, [t.versions[0]]);
    assert.equal(status.conditions.find((c) => c.type === 'Established')?.status, 'True', t.kind);
  }
});
