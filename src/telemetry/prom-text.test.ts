import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePrometheusText } from './prom-text.js';

const cases: Array<[string, string, ReturnType<typeof parsePrometheusText>]> = [
  ['comments, HELP and TYPE skipped', '# HELP x help\n# TYPE x counter\nx 1\n', [{ name: 'x', labels: {}, value: 1 }]],
  ['labels and a timestamp', 'istio_requests_total{reporter="destination",response_code="200"} 42 1700000000000', [{ name: 'istio_requests_total', labels: { reporter: 'destination', response_code: '200' }, value: 42 }]],
  ['escapes in label values', 'm{a="x\\"y",b="back\\\\slash",c="new\\nline"} 1', [{ name: 'm', labels: { a: 'x"y', b: 'back\\slash', c: 'new\nline' }, value: 1 }]],
  ['commas and braces inside values', 'm{path="/a,b}c",x="1"} 2', [{ name: 'm', labels: { path: '/a,b}c', x: '1' }, value: 2 }]],
  ['special values', 'a +Inf\nb -Inf\nc 1.5e3', [{ name: 'a', labels: {}, value: Infinity }, { name: 'b', labels: {}, value: -Infinity }, { name: 'c', labels: {}, value: 1500 }]],
  ['a trailing comma and blank lines', '\n\nm{le="+Inf",} 7\n', [{ name: 'm', labels: { le: '+Inf' }, value: 7 }]],
];
for (const [name, text, expected] of cases) test(`parse: ${name}`, () => assert.deepEqual(parsePrometheusText(text), expected));

test('NaN is read as NaN', () => assert.ok(Number.isNaN(parsePrometheusText('m NaN')[0]!.value)));

const bad: Array<[string, RegExp]> = [
  ['m{a="x"', /line 1: unterminated label value|line 1: expected a label name/],
  ['m{a=x} 1', /line 1: expected a quoted label value/],
  ['ok 1\nm abc', /line 2: "abc" is not a sample value/],
  ['m', /line 1: expected a value/],
  ['{a="b"} 1', /line 1: expected a metric name/],
];
for (const [text, expected] of bad) test(`refused: ${JSON.stringify(text)}`, () => assert.throws(() => parsePrometheusText(text), expected));
