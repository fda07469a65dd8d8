import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TrustBoundary } from '../model/listener.js';
import { applyTrustBoundary, inCidr, lastAddressFromXff, localAddress } from './trust.js';

const base: TrustBoundary = { useRemoteAddress: false, xffNumTrustedHops: 0, skipXffAppend: false, forwardClientCert: 'SANITIZE', internalCidrs: [], preserveExternalRequestId: false, clientCertDetails: [] };

test('lastAddressFromXff: counts from the right, trims, single only without skipping', () => {
  assert.deepEqual(lastAddressFromXff('1.2.3.4', 0), { address: '1.2.3.4', single: true });
  assert.deepEqual(lastAddressFromXff('1.2.3.4, 5.6.7.8', 0), { address: '5.6.7.8', single: false });
  assert.deepEqual(lastAddressFromXff('1.2.3.4, 5.6.7.8', 1), { address: '1.2.3.4', single: false });
  assert.deepEqual(lastAddressFromXff('1.2.3.4', 1), { address: undefined, single: false });
  assert.deepEqual(lastAddressFromXff('unknown', 0), { address: undefined, single: false });
  assert.deepEqual(lastAddressFromXff(' 2001:db8::1 ', 0), { address: '2001:db8::1', single: true });
});

test('inCidr: IPv4 and IPv6, families kept apart', () => {
  assert.ok(inCidr('10.1.2.3', { prefix: '10.0.0.0', length: 8 }));
  assert.ok(!inCidr('11.1.2.3', { prefix: '10.0.0.0', length: 8 }));
  assert.ok(inCidr('1.2.3.4', { prefix: '0.0.0.0', length: 0 }));
  assert.ok(inCidr('fd12::1', { prefix: 'fd00::', length: 8 }));
  assert.ok(!inCidr('fe80::1', { prefix: 'fd00::', length: 8 }));
  assert.ok(!inCidr('10.1.2.3', { prefix: '::', length: 0 }));
});

test('applyTrustBoundary: a gateway (use_remote_address) takes its peer for the client and drops what a client may not say', () => {
  const headers: Record<string, string> = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-client-cert': 'Hash=00', 'x-envoy-internal': 'true', 'x-envoy-retry-on': '5xx', 'x-forwarded-proto': 'https' };
  const v = applyTrustBoundary(headers, { ...base, useRemoteAddress: true, forwardClientCert: 'SANITIZE_SET' }, '192.0.2.10');
  assert.deepEqual(v, { edge: true, internal: false, clientAddress: '192.0.2.10' });
  assert.deepEqual(headers, { 'x-forwarded-for': '203.0.113.7,192.0.2.10', 'x-forwarded-proto': 'http', 'x-envoy-external-address': '192.0.2.10' });
  // A loopback peer is written as the node's address.
  const local: Record<string, string> = {};
  applyTrustBoundary(local, { ...base, useRemoteAddress: true }, '127.0.0.1');
  assert.equal(local['x-forwarded-for'], localAddress());
});

test('applyTrustBoundary: trusted hops pick the client from x-forwarded-for; internal peers keep x-envoy-* headers', () => {
  const h: Record<string, string> = { 'x-forwarded-for': '203.0.113.7, 198.51.100.2' };
  applyTrustBoundary(h, { ...base, useRemoteAddress: true, xffNumTrustedHops: 1 }, '192.0.2.10');
  assert.equal(h['x-envoy-external-address'], '198.51.100.2');
  const internal: Record<string, string> = { 'x-envoy-retry-on': '5xx', 'x-forwarded-client-cert': 'Hash=00' };
  const v = applyTrustBoundary(internal, { ...base, useRemoteAddress: true, internalCidrs: [{ prefix: '10.0.0.0', length: 8 }], forwardClientCert: 'ALWAYS_FORWARD_ONLY' }, '10.1.1.1');
  assert.equal(v.internal, true);
  assert.deepEqual(internal, { 'x-envoy-retry-on': '5xx', 'x-forwarded-client-cert': 'Hash=00', 'x-forwarded-for': '10.1.1.1', 'x-forwarded-proto': 'http', 'x-envoy-internal': 'true' });
});
