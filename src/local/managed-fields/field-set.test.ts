import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FieldSet, elementToken, fieldElement, keyElement, parseElementToken, pathText } from './field-set.js';
import type { FieldPath } from './field-set.js';

const f = fieldElement;
const spec = (...rest: FieldPath) => [f('spec'), ...rest];

describe('field paths', () => {
  test('element tokens are those of fieldsV1, keys sorted by name', () => {
    assert.equal(elementToken(f('replicas')), 'f:replicas');
    assert.equal(elementToken(keyElement([['protocol', 'TCP'], ['containerPort', 80]])), 'k:{"containerPort":80,"protocol":"TCP"}');
    assert.equal(elementToken({ value: 'foregroundDeletion' }), 'v:"foregroundDeletion"');
    assert.equal(elementToken({ index: 2 }), 'i:2');
  });

  test('tokens parse back to the same element', () => {
    for (const token of ['f:a.b/c', 'k:{"name":"x"}', 'k:{"containerPort":80,"protocol":"TCP"}', 'v:"x"', 'v:3', 'i:0']) {
      assert.equal(elementToken(parseElementToken(token)), token);
    }
  });

  test('bad tokens are errors naming the token', () => {
    assert.throws(() => parseElementToken('x:y'), /invalid path element "x:y"/);
    assert.throws(() => parseElementToken('k:[1]'), /invalid key element/);
    assert.throws(() => parseElementToken('i:-1'), /invalid index element/);
  });

  test('paths print as conflicts name them', () => {
    assert.equal(pathText(spec(f('replicas'))), '.spec.replicas');
    assert.equal(pathText(spec(f('containers'), keyElement([['name', 'nginx']]), f('image'))), '.spec.containers[name="nginx"].image');
    assert.equal(pathText([f('ports'), keyElement([['port', 80], ['protocol', 'TCP']])]), '.ports[port=80,protocol="TCP"]');
    assert.equal(pathText([f('metadata'), f('finalizers'), { value: 'x' }]), '.metadata.finalizers[="x"]');
  });
});

describe('FieldSet', () => {
  test('a member with members below it is written with "."', () => {
    const set = FieldSet.of([f('metadata'), f('labels')], [f('metadata'), f('labels'), f('app')], spec(f('replicas')));
    assert.deepEqual(set.toFieldsV1(), { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:replicas': {} } });
  });

  test('fieldsV1 reads back into the same set', () => {
    const wire = { 'f:spec': { 'f:containers': { 'k:{"name":"a"}': { '.': {}, 'f:image': {} } }, 'f:replicas': {} } };
    const set = FieldSet.fromFieldsV1(wire);
    assert.equal(set.has(spec(f('containers'), keyElement([['name', 'a']]))), true);
    assert.equal(set.has(spec(f('containers'))), false);
    assert.deepEqual(set.toFieldsV1(), wire);
  });

  test('elements are ordered: fields by name, then keys, then values', () => {
    const set = FieldSet.of([{ value: 'b' }], [keyElement([['name', 'z']])], [f('b')], [f('a')], [{ value: 'a' }], [keyElement([['name', 'a']])]);
    assert.deepEqual(Object.keys(set.toFieldsV1()), ['f:a', 'f:b', 'k:{"name":"a"}', 'k:{"name":"z"}', 'v:"a"', 'v:"b"']);
  });

  test('numeric keys order as numbers', () => {
    const set = FieldSet.of([keyElement([['port', 443]])], [keyElement([['port', 80]])]);
    assert.deepEqual(Object.keys(set.toFieldsV1()), ['k:{"port":80}', 'k:{"port":443}']);
  });

  test('union, difference, intersection are by exact path', () => {
    const a = FieldSet.of(spec(f('replicas')), spec(f('paused')), spec());
    const b = FieldSet.of(spec(f('replicas')), spec(f('minReadySeconds')));
    assert.deepEqual(a.union(b).paths().map(pathText), ['.spec', '.spec.minReadySeconds', '.spec.paused', '.spec.replicas']);
    assert.deepEqual(a.difference(b).paths().map(pathText), ['.spec', '.spec.paused']);
    assert.deepEqual(a.intersection(b).paths().map(pathText), ['.spec.replicas']);
  });

  test('recursiveDifference removes everything below a member of the other set', () => {
    const a = FieldSet.of([f('status'), f('replicas')], [f('status'), f('conditions')], spec(f('replicas')));
    assert.deepEqual(a.recursiveDifference(FieldSet.of([f('status')])).paths().map(pathText), ['.spec.replicas']);
  });

  test('hasPrefix sees paths at and below', () => {
    const set = FieldSet.of(spec(f('template'), f('spec'), f('containers')));
    assert.equal(set.hasPrefix(spec()), true);
    assert.equal(set.hasPrefix(spec(f('template'), f('spec'), f('containers'))), true);
    assert.equal(set.hasPrefix(spec(f('replicas'))), false);
  });

  test('an empty object in fieldsV1 is a member; "." at the top is refused', () => {
    assert.equal(FieldSet.fromFieldsV1({ 'f:data': {} }).has([f('data')]), true);
    assert.throws(() => FieldSet.fromFieldsV1({ '.': {} }), /"\." at the top level/);
    assert.throws(() => FieldSet.fromFieldsV1({ 'f:a': 1 }), /must be an object/);
  });
});
