import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kindSchema } from '../config/schemas/kind-schemas.js';
import { editDistance, misspeltFields, nearestName } from './misspelt-fields.js';

describe('misspelt fields', () => {
  it('edit distance is Levenshtein\'s, case-insensitive', () => {
    assert.equal(editDistance('wieght', 'weight'), 2);
    assert.equal(editDistance('Weight', 'weight'), 0);
    assert.equal(editDistance('rout', 'route'), 1);
    assert.equal(editDistance('', 'abc'), 3);
  });

  it('the nearest declared name, only when it is close enough to be what was meant', () => {
    assert.equal(nearestName('wieght', ['destination', 'weight', 'headers']), 'weight');
    assert.equal(nearestName('subsets', ['subset', 'host', 'port']), 'subset');
    assert.equal(nearestName('xyz', ['destination', 'weight', 'headers']), undefined);
  });

  it('walks a VirtualService against its schema: nested arrays, maps of free values left alone', () => {
    const shape = kindSchema('networking.istio.io/v1', 'VirtualService')?.shape();
    assert.ok(shape);
    const vs = {
      apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'a', namespace: 'b', labels: { anything: 'x' } },
      spec: { hosts: ['h'], htpp: [], http: [{ match: [{ headers: { 'x-any-name': { exact: 'v' } } }], route: [{ destination: { host: 'h', subest: 'v1' }, wieght: 100 }] }] },
    };
    assert.deepEqual(misspeltFields(vs, shape, ''), [
      { field: 'spec.htpp', suggestion: 'http' },
      { field: 'spec.http[0].route[0].destination.subest', suggestion: 'subset' },
      { field: 'spec.http[0].route[0].wieght', suggestion: 'weight' },
    ]);
  });
});
