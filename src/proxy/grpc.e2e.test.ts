// A real gRPC call (grpc-js client and server) through the proxy: HTTP/2 downstream, HTTP/2 upstream
// (the cluster's http2_protocol_options), trailers carried end to end, and a gRPC fault abort.

import * as grpc from '@grpc/grpc-js';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { edsCluster, FAULT_TYPE, httpListener, loadAssignment, routeConfig } from './testutil/envoy.js';
import { startHarness, type Harness } from './testutil/harness.js';
import { freePort } from './testutil/upstream.js';

const identity = (b: Buffer): Buffer => b;
const ECHO: grpc.ServiceDefinition = {
  Echo: { path: '/test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
};

let server: grpc.Server;
let h: Harness;
let port: number;

before(async () => {
  server = new grpc.Server();
  server.addService(ECHO, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      if (call.request.toString() === 'fail') cb({ code: grpc.status.FAILED_PRECONDITION, details: 'asked to fail' });
      else cb(null, Buffer.from(`echo:${call.request.toString()}`));
    },
  });
  const upstreamPort = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  port = await freePort();
  h = await startHarness({
    listeners: [httpListener('grpc', '127.0.0.1', port, 'grpc-routes')],
    routes: [
      routeConfig('grpc-routes', [
        {
          name: 'echo',
          domains: ['echo.sample:9000'],
          routes: [
            {
              match: { prefix: '/', headers: [{ name: 'x-fault', present_match: true }] },
              route: { cluster: 'echo' },
              typed_per_filter_config: { 'envoy.filters.http.fault': { '@type': FAULT_TYPE, abort: { grpc_status: 14, percentage: { numerator: 100 } } } },
            },
            { match: { prefix: '/test.Echo/' }, route: { cluster: 'echo', timeout: { seconds: 0 } } },
          ],
        },
      ]),
    ],
    clusters: [edsCluster('echo', { http2_protocol_options: {} })],
    endpoints: [loadAssignment('echo', [{ port: upstreamPort }])],
  });
});

after(async () => {
  await h.close();
  server.forceShutdown();
});

function call(message: string, metadata = new grpc.Metadata()): Promise<{ error: grpc.ServiceError | null; value: string | undefined }> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'echo.sample:9000' });
  return new Promise((resolve) => {
    client.makeUnaryRequest('/test.Echo/Echo', identity, identity, Buffer.from(message), metadata, (error, value) => {
      client.close();
      resolve({ error, value: value?.toString() });
    });
  });
}

test('a unary gRPC call goes through, status and trailers included', async () => {
  const ok = await call('hi');
  assert.equal(ok.error, null);
  assert.equal(ok.value, 'echo:hi');
  const failed = await call('fail');
  assert.equal(failed.error?.code, grpc.status.FAILED_PRECONDITION, failed.error?.details);
  assert.equal(failed.error?.details, 'asked to fail');
});

test('a gRPC fault abort answers grpc-status from the fault config', async () => {
  const md = new grpc.Metadata();
  md.set('x-fault', '1');
  const r = await call('hi', md);
  assert.equal(r.error?.code, grpc.status.UNAVAILABLE);
  assert.equal(r.error?.details, 'fault filter abort');
});
