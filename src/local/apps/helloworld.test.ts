import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createHelloworldServer, parseErrorRate } from './helloworld.js';

function curl(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--max-time', '5', '-w', ' %{http_code}', url], (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)));
  });
}

test('helloworld answers /hello with version and instance, /health with 200, the rest with 404', async (t) => {
  const server = createHelloworldServer({ version: 'v2', instance: 'helloworld-v2-abc' });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  assert.equal(await curl(`${base}/hello`), 'Hello version: v2, instance: helloworld-v2-abc\n 200');
  assert.equal(await curl(`${base}/hello?x=1`), 'Hello version: v2, instance: helloworld-v2-abc\n 200');
  assert.match(await curl(`${base}/health`), / 200$/);
  assert.match(await curl(`${base}/other`), / 404$/);
});

test('ERROR_RATE: that share of /hello answers 500 (a draw per request), /health stays 200; bad values are refused', async (t) => {
  const draws = [0.1, 0.5, 0.19, 0.2, 0.99];
  const server = createHelloworldServer({ version: 'v2', instance: 'i', errorRate: 0.2, random: () => draws.shift() ?? 1 });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const codes: string[] = [];
  for (let i = 0; i < 5; i++) codes.push((await curl(`${base}/hello`)).slice(-3));
  assert.deepEqual(codes, ['500', '200', '500', '200', '200']);
  assert.match(await curl(`${base}/health`), / 200$/);
  assert.equal(parseErrorRate(undefined), 0);
  assert.equal(parseErrorRate('0.2'), 0.2);
  assert.throws(() => parseErrorRate('20%'), /ERROR_RATE "20%": expected a share from 0 to 1/);
  assert.throws(() => parseErrorRate('1.5'), /expected a share from 0 to 1/);
});
