import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StatusError } from '../../k8s/status.js';
import type { JsonValue } from './json.js';
import { applyJsonPatch, createJsonPatch } from './json-patch.js';

// RFC 6902 Appendix A, the examples that succeed.
const RFC_SUCCESSES: Array<[name: string, doc: JsonValue, patch: JsonValue, result: JsonValue]> = [
  ['A.1 add an object member', { foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux' }], { baz: 'qux', foo: 'bar' }],
  ['A.2 add an array element', { foo: ['bar', 'baz'] }, [{ op: 'add', path: '/foo/1', value: 'qux' }], { foo: ['bar', 'qux', 'baz'] }],
  ['A.3 remove an object member', { baz: 'qux', foo: 'bar' }, [{ op: 'remove', path: '/baz' }], { foo: 'bar' }],
  ['A.4 remove an array element', { foo: ['bar', 'qux', 'baz'] }, [{ op: 'remove', path: '/foo/1' }], { foo: ['bar', 'baz'] }],
  ['A.5 replace a value', { baz: 'qux', foo: 'bar' }, [{ op: 'replace', path: '/baz', value: 'boo' }], { baz: 'boo', foo: 'bar' }],
  [
    'A.6 move a value',
    { foo: { bar: 'baz', waldo: 'fred' }, qux: { corge: 'grault' } },
    [{ op: 'move', from: '/foo/waldo', path: '/qux/thud' }],
    { foo: { bar: 'baz' }, qux: { corge: 'grault', thud: 'fred' } },
  ],
  ['A.7 move an array element', { foo: ['all', 'grass', 'cows', 'eat'] }, [{ op: 'move', from: '/foo/1', path: '/foo/3' }], { foo: ['all', 'cows', 'eat', 'grass'] }],
  [
    'A.8 test a value: success',
    { baz: 'qux', foo: ['a', 2, 'c'] },
    [
      { op: 'test', path: '/baz', value: 'qux' },
      { op: 'test', path: '/foo/1', value: 2 },
    ],
    { baz: 'qux', foo: ['a', 2, 'c'] },
  ],
  ['A.10 add a nested member object', { foo: 'bar' }, [{ op: 'add', path: '/child', value: { grandchild: {} } }], { foo: 'bar', child: { grandchild: {} } }],
  ['A.11 ignore unrecognized elements', { foo: 'bar' }, [{ op: 'add', path: '/baz', value: 'qux', xyz: 123 }], { foo: 'bar', baz: 'qux' }],
  ['A.14 ~ escape ordering', { '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: 10 }], { '/': 9, '~1': 10 }],
  ['A.16 add an array value', { foo: ['bar'] }, [{ op: 'add', path: '/foo/-', value: ['abc', 'def'] }], { foo: ['bar', ['abc', 'def']] }],
  ['copy', { a: { b: [1] } }, [{ op: 'copy', from: '/a', path: '/c' }, { op: 'add', path: '/c/b/-', value: 2 }], { a: { b: [1] }, c: { b: [1, 2] } }],
  ['replace the root', { a: 1 }, [{ op: 'replace', path: '', value: { b: 2 } }], { b: 2 }],
];

function expectBadRequest(doc: JsonValue, patch: JsonValue, message: RegExp): void {
  assert.throws(
    () => applyJsonPatch(doc, patch),
    (err: unknown) => {
      assert.ok(err instanceof StatusError);
      assert.equal(err.code, 400);
      assert.match(err.message, message);
      return true;
    },
  );
}

describe('JSON patch (RFC 6902)', () => {
  for (const [name, doc, patch, expected] of RFC_SUCCESSES) {
    test(name, () => {
      const before = JSON.stringify(doc);
      assert.deepEqual(applyJsonPatch(doc, patch), expected);
      assert.equal(JSON.stringify(doc), before, 'the target is not modified');
    });
  }

  test('kubectl patch --type json on a Deployment: replace an image, add a label, remove an env var', () => {
    const d = {
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: { template: { spec: { containers: [{ name: 'app', image: 'v1', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }] } } },
    };
    const result = applyJsonPatch(d, [
      { op: 'test', path: '/spec/template/spec/containers/0/name', value: 'app' },
      { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'v2' },
      { op: 'add', path: '/metadata/labels/app.kubernetes.io~1version', value: 'v2' },
      { op: 'remove', path: '/spec/template/spec/containers/0/env/0' },
    ]);
    assert.deepEqual(result, {
      metadata: { name: 'web', labels: { app: 'web', 'app.kubernetes.io/version': 'v2' } },
      spec: { template: { spec: { containers: [{ name: 'app', image: 'v2', env: [{ name: 'B', value: '2' }] }] } } },
    });
  });

  test('errors name the operation index and path', () => {
    expectBadRequest({ baz: 'qux' }, [{ op: 'test', path: '/baz', value: 'bar' }], /json patch operation 0 \(test \/baz\): test failed: the value is "qux", expected "bar"/);
    expectBadRequest({ foo: 'bar' }, [{ op: 'add', path: '/a', value: 1 }, { op: 'add', path: '/baz/bat', value: 'qux' }], /json patch operation 1 \(add \/baz\/bat\): path "\/baz\/bat" does not exist: no "baz"/);
    expectBadRequest({ '/': 9, '~1': 10 }, [{ op: 'test', path: '/~01', value: '10' }], /operation 0 \(test \/~01\): test failed/);
    expectBadRequest({ foo: [1] }, [{ op: 'add', path: '/foo/5', value: 2 }], /operation 0 \(add \/foo\/5\): index 5 in "\/foo\/5" is out of bounds/);
    expectBadRequest({ foo: [1] }, [{ op: 'remove', path: '/foo/01' }], /"01" in "\/foo\/01" is not a list index/);
    expectBadRequest({ foo: 1 }, [{ op: 'remove', path: '/bar' }], /operation 0 \(remove \/bar\): path "\/bar" does not exist/);
    expectBadRequest({ foo: 1 }, [{ op: 'replace', path: '/bar', value: 1 }], /operation 0 \(replace \/bar\)/);
    expectBadRequest({ a: { b: 1 } }, [{ op: 'move', from: '/a', path: '/a/b/c' }], /cannot move "\/a" into its own child/);
    expectBadRequest({ a: 1 }, [{ op: 'frobnicate', path: '/a' }], /operation 0 \(frobnicate \/a\): unknown op "frobnicate"/);
    expectBadRequest({ a: 1 }, [{ op: 'add', path: '/b' }], /operation 0 \(add \/b\): missing "value"/);
    expectBadRequest({ a: 1 }, [{ op: 'add', path: 'b', value: 1 }], /must be empty or start with '\/'/);
    expectBadRequest({ a: 1 }, { op: 'add', path: '/b', value: 1 }, /json patch must be a list of operations, got a map/);
  });

  test('a failing operation leaves the target untouched', () => {
    const doc = { a: [1, 2] };
    expectBadRequest(doc, [{ op: 'remove', path: '/a/0' }, { op: 'test', path: '/a/0', value: 1 }], /operation 1/);
    assert.deepEqual(doc, { a: [1, 2] });
  });

  test('adding under a value that is not a map or a list names its type', () => {
    expectBadRequest({ a: 1 }, [{ op: 'add', path: '/a/b', value: 2 }], /operation 0 \(add \/a\/b\): cannot add "b" to a number at "\/a\/b"/);
    expectBadRequest({ a: 1 }, [{ op: 'remove', path: '' }], /cannot remove the whole document/);
    expectBadRequest({ a: 1 }, [{ op: 'copy', from: '/x', path: '/b' }], /operation 0 \(copy \/b\): from "\/x" does not exist/);
  });
});

describe('createJsonPatch: the patch between two documents', () => {
  const before: JsonValue = {
    metadata: { name: 'p', labels: { app: 'a', 'a/b~c': 'x' }, annotations: { gone: 'y' } },
    spec: { containers: [{ name: 'app', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }], volumes: [{ name: 'v' }], nodeName: null },
  };
  const after: JsonValue = {
    metadata: { name: 'p', labels: { app: 'a', 'a/b~c': 'z', 'new/key': 'n' } },
    spec: { containers: [{ name: 'app', env: [{ name: 'A', value: '1' }] }, { name: 'istio-proxy', args: ['proxy', 'sidecar'] }], volumes: { name: 'v' }, nodeName: 'n' },
  };

  test('applied to the first, it gives the second; the inputs are not modified', () => {
    const was = JSON.stringify([before, after]);
    const patch = createJsonPatch(before, after);
    assert.deepEqual(applyJsonPatch(before, patch), after);
    assert.equal(JSON.stringify([before, after]), was);
    assert.ok(patch.some((op) => op.op === 'add' && op.path === '/spec/containers/1'), JSON.stringify(patch));
    assert.ok(patch.some((op) => op.path === '/metadata/labels/a~1b~0c'), 'keys are escaped as RFC 6901 says');
  });

  test('equal documents give no operation; different roots are replaced whole', () => {
    assert.deepEqual(createJsonPatch(before, structuredClone(before)), []);
    assert.deepEqual(createJsonPatch({ a: 1 }, [1]), [{ op: 'replace', path: '', value: [1] }]);
    assert.deepEqual(createJsonPatch(1, 1), []);
  });
});
