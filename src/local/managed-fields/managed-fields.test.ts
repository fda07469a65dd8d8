import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FieldSet, fieldElement, pathText } from './field-set.js';
import type { JsonObject } from '../../k8s/patch/json.js';
import { ApplyConflicts, applyConfiguration, describeManager, lastAppliedFields, managerId, readManagedFields, updateOwnership, writeManagedFields } from './managed-fields.js';
import type { Managers, OwnershipContext, Writer } from './managed-fields.js';
import { kindTypedNode } from './typed-schema.js';

const node = kindTypedNode('apps/v1', 'Deployment')!;
const CTX: OwnershipContext = { node, ignored: FieldSet.of([fieldElement('status')]) };
const T0 = '2025-01-01T00:00:00Z';
const T1 = '2025-01-01T00:01:00Z';
const writer = (manager: string, now = T1): Writer => ({ manager, apiVersion: 'apps/v1', now });

function deployment(spec: JsonObject, metadata: JsonObject = {}): JsonObject {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'ns', ...metadata }, spec };
}

/** Each manager's owned paths, by manager/operation. */
function owned(managers: Managers): Record<string, string[]> {
  return Object.fromEntries([...managers.values()].map((m) => [`${m.manager}/${m.operation}${m.subresource ? `/${m.subresource}` : ''}`, m.fields.paths().map(pathText)]));
}

function created(by: string, obj: JsonObject): Managers {
  return updateOwnership({}, obj, new Map(), writer(by, T0), CTX);
}

function apply(live: JsonObject, config: JsonObject, managers: Managers, by: string, force = false) {
  return applyConfiguration(live, config, managers, writer(by), CTX, { force });
}

describe('updates', () => {
  test('a create owns what it set, but not name, namespace, apiVersion or kind', () => {
    const m = created('kubectl-create', deployment({ replicas: 1 }, { labels: { app: 'web' } }));
    assert.deepEqual(owned(m), { 'kubectl-create/Update': ['.metadata.labels', '.metadata.labels.app', '.spec.replicas'] });
    assert.equal([...m.values()][0]!.time, T0);
  });

  test('an update takes what it changes from its owner and adds to its own', () => {
    const before = deployment({ replicas: 1, paused: false });
    const m = updateOwnership(before, deployment({ replicas: 3, paused: false }), created('kubectl-create', before), writer('kubectl-scale'), CTX);
    assert.deepEqual(owned(m), { 'kubectl-create/Update': ['.spec.paused'], 'kubectl-scale/Update': ['.spec.replicas'] });
  });

  test('an update that changes nothing leaves managers and times alone', () => {
    const obj = deployment({ replicas: 1 });
    const before = created('a', obj);
    const after = updateOwnership(obj, obj, before, writer('b'), CTX);
    assert.deepEqual(writeManagedFields(after), writeManagedFields(before));
  });

  test('a removed field is no one\'s any more; a manager left with nothing is dropped', () => {
    const before = deployment({ replicas: 1 });
    const m = updateOwnership(before, deployment({}), created('a', before), writer('b'), CTX);
    assert.deepEqual(owned(m), {});
  });

  test('ignored fields (status of the main resource) are never owned', () => {
    const m = updateOwnership({}, { ...deployment({ replicas: 1 }), status: { replicas: 1 } }, new Map(), writer('a'), CTX);
    assert.deepEqual(owned(m), { 'a/Update': ['.spec.replicas'] });
  });

  test('the same manager through another endpoint is another entry', () => {
    const statusCtx: OwnershipContext = { node, ignored: FieldSet.of([fieldElement('spec')], [fieldElement('metadata')]) };
    const obj = deployment({ replicas: 1 });
    const m = updateOwnership(obj, { ...obj, status: { replicas: 1 } }, created('kcm', obj), { ...writer('kcm'), subresource: 'status' }, statusCtx);
    assert.deepEqual(owned(m), { 'kcm/Update': ['.spec.replicas'], 'kcm/Update/status': ['.status.replicas'] });
  });
});

describe('the cap on Update entries', () => {
  test('past 10, the oldest Update entries merge into "ancient-changes"', () => {
    let obj = deployment({});
    let managers: Managers = new Map();
    for (let i = 0; i < 12; i++) {
      const next = deployment({}, { labels: { [`l${i}`]: 'x', ...((obj.metadata as JsonObject).labels as JsonObject) } });
      managers = updateOwnership(obj, next, managers, writer(`m${String(i).padStart(2, '0')}`, `2025-01-01T00:00:${String(i).padStart(2, '0')}Z`), CTX);
      obj = next;
    }
    const names = [...managers.values()].map((m) => m.manager).sort();
    assert.equal(names.length, 10);
    assert.deepEqual(names.slice(0, 2), ['ancient-changes', 'm03']);
    const ancient = [...managers.values()].find((m) => m.manager === 'ancient-changes')!;
    assert.deepEqual(ancient.fields.paths().map(pathText), ['.metadata.labels', '.metadata.labels.l0', '.metadata.labels.l1', '.metadata.labels.l2']);
  });
});

describe('applies', () => {
  const config = deployment({ replicas: 2, paused: false });

  test('an apply creates and owns exactly its configuration', () => {
    const r = apply({}, config, new Map(), 'kubectl');
    assert.deepEqual(owned(r.managers), { 'kubectl/Apply': ['.spec.paused', '.spec.replicas'] });
    assert.equal(r.changed, true);
  });

  test('changing a field another manager owns is a conflict naming both', () => {
    const live = deployment({ replicas: 2, paused: false });
    const managers = created('kubectl-client-side-apply', live);
    assert.throws(
      () => apply(live, deployment({ replicas: 5 }), managers, 'other'),
      (err: unknown) =>
        err instanceof ApplyConflicts &&
        err.message === 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas' &&
        err.conflicts.length === 1 &&
        pathText(err.conflicts[0]!.path) === '.spec.replicas',
    );
  });

  test('several conflicts are listed per manager', () => {
    const live = deployment({ replicas: 2, paused: false, minReadySeconds: 1 });
    const managers = created('a', live);
    assert.throws(() => apply(live, deployment({ replicas: 5, paused: true }), managers, 'b'), {
      message: 'Apply failed with 2 conflicts: conflicts with "a" using apps/v1:\n- .spec.paused\n- .spec.replicas',
    });
  });

  test('force takes the field over', () => {
    const live = deployment({ replicas: 2, paused: false });
    const r = apply(live, deployment({ replicas: 5 }), created('a', live), 'b', true);
    assert.deepEqual(owned(r.managers), { 'b/Apply': ['.spec.replicas'], 'a/Update': ['.spec.paused'] });
    assert.equal((r.object.spec as JsonObject).replicas, 5);
  });

  test('the same value is shared ownership, not a conflict', () => {
    const live = deployment({ replicas: 2 });
    const r = apply(live, deployment({ replicas: 2 }), created('a', live), 'b');
    assert.deepEqual(owned(r.managers), { 'b/Apply': ['.spec.replicas'], 'a/Update': ['.spec.replicas'] });
    assert.equal(r.changed, false);
  });

  test('a field the applier drops is removed when no one else owns it', () => {
    const first = apply({}, config, new Map(), 'kubectl');
    const second = apply(first.object, deployment({ replicas: 2 }), first.managers, 'kubectl');
    assert.deepEqual(second.object.spec, { replicas: 2 });
    assert.deepEqual(owned(second.managers), { 'kubectl/Apply': ['.spec.replicas'] });
  });

  test('a dropped field another manager also owns stays', () => {
    const first = apply({}, config, new Map(), 'kubectl');
    const shared = apply(first.object, deployment({ paused: false }), first.managers, 'other');
    const second = apply(shared.object, deployment({ replicas: 2 }), shared.managers, 'kubectl');
    assert.deepEqual(second.object.spec, { replicas: 2, paused: false });
    assert.deepEqual(owned(second.managers), { 'kubectl/Apply': ['.spec.replicas'], 'other/Apply': ['.spec.paused'] });
  });

  test('a field set by an Update and never applied is not removed by an apply', () => {
    const first = apply({}, deployment({ replicas: 2 }), new Map(), 'kubectl');
    const edited = deployment({ replicas: 2, paused: true });
    const managers = updateOwnership(first.object, edited, first.managers, writer('kubectl-edit'), CTX);
    const again = apply(edited, deployment({ replicas: 2 }), managers, 'kubectl');
    assert.equal((again.object.spec as JsonObject).paused, true);
  });

  test('a manager\'s own earlier update does not conflict with its apply (same manager, Update entry is another identity)', () => {
    const live = deployment({ replicas: 2 });
    const managers = created('x', live);
    assert.throws(() => apply(live, deployment({ replicas: 3 }), managers, 'x'), ApplyConflicts);
  });

  test('allowed conflicts (kubectl taking over its client-side apply) are taken without force; others still conflict', () => {
    const lastApplied = deployment({ replicas: 2 });
    const live = deployment({ replicas: 2, paused: false });
    const managers = created('kubectl-client-side-apply', live);
    const allowedConflicts = lastAppliedFields(lastApplied, live, node);
    const taken = applyConfiguration(live, deployment({ replicas: 4 }), managers, writer('kubectl'), CTX, { force: false, allowedConflicts });
    assert.deepEqual(owned(taken.managers), { 'kubectl/Apply': ['.spec.replicas'], 'kubectl-client-side-apply/Update': ['.spec.paused'] });
    assert.throws(() => applyConfiguration(live, deployment({ replicas: 4, paused: true }), managers, writer('kubectl'), CTX, { force: false, allowedConflicts }), {
      message: 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.paused',
    });
  });

  test('a last-applied value the live object no longer has allows nothing', () => {
    const live = deployment({ replicas: 3 });
    assert.equal(lastAppliedFields(deployment({ replicas: 2 }), live, node).has([fieldElement('spec'), fieldElement('replicas')]), false);
  });
});

describe('managedFields entries', () => {
  test('written in the apiserver\'s order and shape; read back to the same managers', () => {
    const live = deployment({ replicas: 2 });
    const managers = apply(live, deployment({ replicas: 2 }), created('a', live), 'b').managers;
    const entries = writeManagedFields(managers)!;
    assert.deepEqual(entries.map((e) => [e.manager, e.operation]), [['b', 'Apply'], ['a', 'Update']]);
    assert.deepEqual(Object.keys(entries[1]!), ['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1']);
    assert.deepEqual(entries[1]!.fieldsV1, { 'f:spec': { 'f:replicas': {} } });
    const read = readManagedFields(JSON.parse(JSON.stringify(entries)));
    assert.equal(read.kind, 'entries');
    if (read.kind === 'entries') assert.deepEqual(writeManagedFields(read.managers), entries);
  });

  test('[] and [{}] reset; absent is absent', () => {
    assert.equal(readManagedFields([]).kind, 'reset');
    assert.equal(readManagedFields([{}]).kind, 'reset');
    assert.equal(readManagedFields(undefined).kind, 'absent');
  });

  test('bad entries are errors naming the entry and field', () => {
    assert.throws(() => readManagedFields([{ manager: 'a', operation: 'Patch', apiVersion: 'v1', fieldsType: 'FieldsV1' }]), /managedFields\[0\]\.operation: Unsupported value: "Patch"/);
    assert.throws(() => readManagedFields([{ manager: 'a', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV2' }]), /fieldsType: Invalid value: "FieldsV2"/);
    assert.throws(() => readManagedFields([{ manager: 'a', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'q:x': {} } }]), /fieldsV1: invalid path element/);
  });

  test('identity: Update entries per apiVersion, Apply entries per manager', () => {
    assert.notEqual(managerId({ manager: 'a', operation: 'Update', apiVersion: 'v1' }), managerId({ manager: 'a', operation: 'Update', apiVersion: 'v2' }));
    assert.equal(managerId({ manager: 'a', operation: 'Apply', apiVersion: 'v1' }), managerId({ manager: 'a', operation: 'Apply', apiVersion: 'v2' }));
    assert.equal(describeManager({ manager: 'kcm', operation: 'Update', apiVersion: 'apps/v1', subresource: 'status' }), '"kcm" with subresource "status" using apps/v1');
    assert.equal(describeManager({ manager: 'kubectl', operation: 'Apply', apiVersion: 'apps/v1' }), '"kubectl"');
  });
});
