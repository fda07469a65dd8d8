import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeConfig, stableJson, type IstioObject } from './model.js';

const copy = (cluster: string, spec: object, name = 'hw'): IstioObject<object> => ({ name, namespace: 'sample', spec, cluster });

describe('mergeConfig (multi-primary duplicates)', () => {
  it('the same object applied to several clusters is one object', () => {
    const merged = mergeConfig([copy('cluster-2', { a: 1, b: 2 }), copy('cluster-1', { b: 2, a: 1 })]);
    assert.equal(merged.objects.length, 1);
    assert.deepEqual(merged.divergent, [], 'key order does not make specs differ');
  });

  it('the local cluster\'s copy wins; without one, the first cluster by name; differing copies are reported', () => {
    const objects = [copy('cluster-1', { w: 100 }), copy('cluster-2', { w: 20 }), copy('cluster-1', {}, 'other')];
    assert.deepEqual(mergeConfig(objects, 'cluster-2').objects.map((o) => [o.name, o.cluster]), [['hw', 'cluster-2'], ['other', 'cluster-1']]);
    assert.deepEqual(mergeConfig(objects).objects.map((o) => [o.name, o.cluster]), [['hw', 'cluster-1'], ['other', 'cluster-1']]);
    assert.deepEqual(mergeConfig(objects).divergent, [{ namespace: 'sample', name: 'hw', clusters: ['cluster-1', 'cluster-2'] }]);
  });

  it('stableJson ignores key order only', () => {
    assert.equal(stableJson({ b: [2, { d: 1, c: 0 }], a: 1 }), '{"a":1,"b":[2,{"c":0,"d":1}]}');
  });
});
