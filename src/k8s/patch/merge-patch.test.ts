import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JsonValue } from './json.js';
import { applyMergePatch } from './merge-patch.js';

// RFC 7386 Appendix A, verbatim.
const RFC_EXAMPLES: Array<[target: JsonValue, patch: JsonValue, result: JsonValue]> = [
  [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
  [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  [{ a: 'b' }, { a: null }, {}],
  [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
  [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  [['a', 'b'], ['c', 'd'], ['c', 'd']],
  [{ a: 'b' }, ['c'], ['c']],
  [{ a: 'foo' }, null, null],
  [{ a: 'foo' }, 'bar', 'bar'],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: 'b', c: null }, { a: 'b' }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

describe('JSON merge patch (RFC 7386)', () => {
  RFC_EXAMPLES.forEach(([target, patch, expected], i) => {
    test(`appendix A example ${i + 1}: ${JSON.stringify(patch)}`, () => {
      assert.deepEqual(applyMergePatch(target, patch), expected);
    });
  });

  test('kubectl patch --type merge on a VirtualService: lists are replaced, nulls delete, inputs untouched', () => {
    const vs = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'helloworld', namespace: 'default', annotations: { a: '1' } },
      spec: { hosts: ['helloworld'], http: [{ route: [{ destination: { host: 'helloworld', subset: 'v1' }, weight: 90 }, { destination: { host: 'helloworld', subset: 'v2' }, weight: 10 }] }] },
    };
    const before = JSON.stringify(vs);
    const patch = { metadata: { annotations: { a: null } }, spec: { http: [{ route: [{ destination: { host: 'helloworld', subset: 'v2' }, weight: 100 }] }] } };
    const result = applyMergePatch(vs, patch);
    assert.deepEqual(result, {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'helloworld', namespace: 'default', annotations: {} },
      spec: { hosts: ['helloworld'], http: [{ route: [{ destination: { host: 'helloworld', subset: 'v2' }, weight: 100 }] }] },
    });
    assert.equal(JSON.stringify(vs), before);
    // The result shares nothing with the patch.
    (((result as { spec: { http: Array<{ route: Array<{ weight: number }> }> } }).spec.http[0]!.route[0]!).weight = 1);
    assert.equal(patch.spec.http[0]!.route[0]!.weight, 100);
  });
});
