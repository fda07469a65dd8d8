import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StatusError } from './status.js';
import {
  compileFieldSelector,
  compileLabelSelector,
  fieldValue,
  formatLabelSelector,
  matchLabelSelector,
  parseFieldSelector,
  parseLabelSelector,
} from './selectors.js';
import type { LabelSelector } from './selectors.js';

function badRequest(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StatusError);
    assert.equal(err.code, 400);
    assert.equal(err.reason, 'BadRequest');
    assert.match(err.message, message);
    return true;
  });
}

describe('label selector strings', () => {
  test('parses every operator', () => {
    assert.deepEqual(parseLabelSelector('app=web, tier==front,version!=v1,env in (prod, staging),track notin (canary),ready,!legacy,gen>3,prio<10'), [
      { key: 'app', operator: 'equals', values: ['web'] },
      { key: 'tier', operator: 'equals', values: ['front'] },
      { key: 'version', operator: 'notEquals', values: ['v1'] },
      { key: 'env', operator: 'in', values: ['prod', 'staging'] },
      { key: 'track', operator: 'notIn', values: ['canary'] },
      { key: 'ready', operator: 'exists', values: [] },
      { key: 'legacy', operator: 'doesNotExist', values: [] },
      { key: 'gen', operator: 'greaterThan', values: ['3'] },
      { key: 'prio', operator: 'lessThan', values: ['10'] },
    ]);
    assert.deepEqual(parseLabelSelector(''), []);
    assert.deepEqual(parseLabelSelector('app.kubernetes.io/name=istio-ingressgateway'), [{ key: 'app.kubernetes.io/name', operator: 'equals', values: ['istio-ingressgateway'] }]);
    assert.deepEqual(parseLabelSelector('app='), [{ key: 'app', operator: 'equals', values: [''] }]);
  });

  const cases: Array<[selector: string, labels: Record<string, string> | undefined, expected: boolean]> = [
    ['', undefined, true],
    ['app=web', { app: 'web' }, true],
    ['app=web', { app: 'api' }, false],
    ['app=web', undefined, false],
    ['app!=web', {}, true],
    ['app!=web', { app: 'web' }, false],
    ['version in (v1,v2)', { version: 'v2' }, true],
    ['version in (v1,v2)', {}, false],
    ['version notin (v1,v2)', {}, true],
    ['version notin (v1,v2)', { version: 'v1' }, false],
    ['canary', { canary: '' }, true],
    ['!canary', { canary: '' }, false],
    ['!canary', { app: 'x' }, true],
    ['app=web,version=v1', { app: 'web', version: 'v2' }, false],
    ['app=web,version=v1', { app: 'web', version: 'v1' }, true],
    ['gen>3', { gen: '4' }, true],
    ['gen>3', { gen: 'x' }, false],
    ['app=', { app: '' }, true],
  ];
  for (const [selector, labels, expected] of cases) {
    test(`"${selector}" on ${JSON.stringify(labels)} -> ${expected}`, () => {
      assert.equal(compileLabelSelector(selector)(labels), expected);
    });
  }

  test('bad syntax names the selector and the problem', () => {
    badRequest(() => parseLabelSelector('app in (a,b'), /unable to parse label selector "app in \(a,b": found end of selector, expected ',' or '\)'/);
    badRequest(() => parseLabelSelector('app in a'), /expected '\('/);
    badRequest(() => parseLabelSelector('app web'), /found 'web' at position 4, expected one of '=', '==', '!='/);
    badRequest(() => parseLabelSelector('=web'), /expected a label key/);
    badRequest(() => parseLabelSelector('app=web,'), /expected a label key/);
    badRequest(() => parseLabelSelector('-bad=x'), /key "-bad": name part must consist of alphanumeric/);
    badRequest(() => parseLabelSelector('Bad.Prefix/x=y'), /prefix part must be a lowercase RFC 1123 subdomain/);
    badRequest(() => parseLabelSelector(`a=${'v'.repeat(64)}`), /must be no more than 63 characters/);
    badRequest(() => parseLabelSelector('gen>x'), /must be an integer/);
  });
});

describe('field selector strings', () => {
  const obj = { metadata: { name: 'web-1', namespace: 'default' }, spec: { nodeName: 'cluster-1-node', replicas: 3, flag: true }, status: { phase: 'Running' } };

  test('parses =, == and != with escapes', () => {
    assert.deepEqual(parseFieldSelector('metadata.name=web-1,status.phase!=Failed,spec.nodeName==n'), [
      { field: 'metadata.name', operator: 'equals', value: 'web-1' },
      { field: 'status.phase', operator: 'notEquals', value: 'Failed' },
      { field: 'spec.nodeName', operator: 'equals', value: 'n' },
    ]);
    assert.deepEqual(parseFieldSelector('metadata.name=a\\,b\\=c'), [{ field: 'metadata.name', operator: 'equals', value: 'a,b=c' }]);
    assert.deepEqual(parseFieldSelector(''), []);
  });

  test('reads dotted paths; missing fields are the empty string', () => {
    assert.equal(fieldValue(obj, 'spec.nodeName'), 'cluster-1-node');
    assert.equal(fieldValue(obj, 'spec.replicas'), '3');
    assert.equal(fieldValue(obj, 'spec.flag'), 'true');
    assert.equal(fieldValue(obj, 'spec.missing.deeper'), '');
    assert.equal(fieldValue(obj, 'spec'), '');
    assert.equal(compileFieldSelector('spec.hostNetwork=')(obj), true);
    assert.equal(compileFieldSelector('spec.nodeName=')(obj), false);
    assert.equal(compileFieldSelector('metadata.namespace=default,status.phase!=Pending')(obj), true);
    assert.equal(compileFieldSelector('metadata.namespace=default,status.phase!=Running')(obj), false);
  });

  test('bad syntax names the selector and the problem', () => {
    badRequest(() => parseFieldSelector('spec.nodeName'), /unable to parse field selector "spec.nodeName": invalid selector: 'spec.nodeName'; can't understand/);
    badRequest(() => parseFieldSelector('=x'), /missing field name in '=x'/);
    badRequest(() => parseFieldSelector('metadata.name=a\\b'), /invalid escape sequence/);
  });
});

describe('structured label selectors', () => {
  const selector: LabelSelector = {
    matchLabels: { app: 'helloworld' },
    matchExpressions: [
      { key: 'version', operator: 'In', values: ['v1', 'v2'] },
      { key: 'track', operator: 'NotIn', values: ['canary'] },
      { key: 'ready', operator: 'Exists' },
      { key: 'legacy', operator: 'DoesNotExist' },
    ],
  };

  test('matchLabels and every expression must hold', () => {
    assert.equal(matchLabelSelector(selector, { app: 'helloworld', version: 'v1', ready: 'true' }), true);
    assert.equal(matchLabelSelector(selector, { app: 'helloworld', version: 'v1', ready: 'true', track: 'stable' }), true);
    assert.equal(matchLabelSelector(selector, { app: 'helloworld', version: 'v1', ready: 'true', track: 'canary' }), false);
    assert.equal(matchLabelSelector(selector, { app: 'helloworld', version: 'v3', ready: 'true' }), false);
    assert.equal(matchLabelSelector(selector, { app: 'helloworld', version: 'v1' }), false);
    assert.equal(matchLabelSelector(selector, { app: 'helloworld', version: 'v1', ready: '', legacy: 'x' }), false);
    assert.equal(matchLabelSelector(selector, { app: 'other', version: 'v1', ready: 'true' }), false);
    assert.equal(matchLabelSelector(selector, undefined), false);
    assert.equal(matchLabelSelector({}, undefined), true);
    assert.equal(matchLabelSelector({ matchLabels: { app: 'x' } }, { app: 'x', extra: 'y' }), true);
  });

  test('an unknown operator is a BadRequest', () => {
    const bad = { matchExpressions: [{ key: 'a', operator: 'Gt' }] };
    badRequest(() => matchLabelSelector(bad as LabelSelector, { a: '1' }), /"Gt" is not a valid label selector operator/);
  });

  test('formats to the string form, which selects the same labels', () => {
    const text = formatLabelSelector(selector);
    assert.equal(text, 'app=helloworld,version in (v1,v2),track notin (canary),ready,!legacy');
    const compiled = compileLabelSelector(text);
    const samples: Array<Record<string, string>> = [{ app: 'helloworld', version: 'v2', ready: '1' }, { app: 'helloworld', version: 'v2' }, { app: 'helloworld', version: 'v2', ready: '1', track: 'canary' }];
    for (const labels of samples) {
      assert.equal(compiled(labels), matchLabelSelector(selector, labels), JSON.stringify(labels));
    }
  });
});
