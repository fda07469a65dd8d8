import test from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createHelloworldServer } from './helloworld.js';

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
