// The RBAC filter as the proxy decodes and enforces it: NACKs for what it cannot evaluate, the peer
// certificate's names, remote_ip against the judged client address.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeListener } from '../decode/listener.js';
import { httpListener } from '../testutil/envoy.js';
import { checkRbac, peerNames } from './rbac.js';
import { decodeRbacFilter } from '../decode/rbac.js';
import { Problems } from '../decode/fields.js';

const RBAC = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const rbac = (permissions: unknown[], principals: unknown[] = [{ any: true }], action = 'DENY') =>
  ({ name: 'envoy.filters.http.rbac', typed_config: { '@type': RBAC, rules: { action, policies: { p: { permissions, principals } } } } });

function listenerWith(filters: unknown[]) {
  const l = httpListener('l', '127.248.0.1', 8080, 'r') as { filter_chains: Array<{ filters: Array<{ typed_config: { http_filters: unknown[] } }> }> };
  const hcm = l.filter_chains[0]!.filters[0]!.typed_config;
  hcm.http_filters = [...filters, ...hcm.http_filters];
  return l;
}

test('RBAC: a matcher the proxy cannot evaluate is a NACK naming it; so is an RBAC filter after the fault filter', () => {
  const ok = decodeListener(listenerWith([rbac([{ header: { name: ':method', string_match: { exact: 'GET' } } }])]));
  assert.ok(ok.ok, JSON.stringify(!ok.ok && ok.error));
  assert.equal(ok.value.hcms[0]!.rbac.length, 1);
  const unknown = decodeListener(listenerWith([rbac([{ uri_template: { path_template: '/a/{x}' } }])]));
  assert.ok(!unknown.ok);
  assert.match(unknown.error.join('\n'), /policies\.p\.permissions\[0\]\.uri_template: this RBAC permission is not supported/);
  const cel = decodeListener(listenerWith([{ name: 'envoy.filters.http.rbac', typed_config: { '@type': RBAC, rules: { policies: { p: { permissions: [{ any: true }], principals: [{ any: true }], condition: { const_expr: {} } } } } } }]));
  assert.ok(!cel.ok);
  assert.match(cel.error.join('\n'), /CEL conditions are not supported/);
  const l = httpListener('l', '127.248.0.1', 8080, 'r') as { filter_chains: Array<{ filters: Array<{ typed_config: { http_filters: unknown[] } }> }> };
  l.filter_chains[0]!.filters[0]!.typed_config.http_filters.splice(1, 0, rbac([{ any: true }]));
  const late = decodeListener(l);
  assert.ok(!late.ok);
  assert.match(late.error.join('\n'), /only supported before the fault and CORS filters/);
});

test('RBAC: authenticated needs TLS; remote_ip reads the judged client address, direct_remote_ip the peer', () => {
  const p = new Problems();
  const filter = decodeRbacFilter({
    '@type': RBAC,
    rules: {
      action: 'ALLOW',
      policies: {
        tls: { permissions: [{ any: true }], principals: [{ authenticated: {} }] },
        remote: { permissions: [{ any: true }], principals: [{ remote_ip: { address_prefix: '203.0.113.0', prefix_len: { value: 24 } } }] },
      },
    },
  }, 'rbac', p, false);
  assert.deepEqual(p.list, []);
  const subject = { peer: '127.248.0.9', remote: '127.248.0.9', localAddress: '127.248.0.1', localPort: 8080, serverName: '', peerCertificate: undefined };
  assert.equal(checkRbac([filter], subject, () => undefined), false);
  assert.equal(checkRbac([filter], { ...subject, remote: '203.0.113.5' }, () => undefined), true);
  assert.equal(checkRbac([filter], { ...subject, peerCertificate: { uriSans: [], dnsSans: [], subject: '' } }, () => undefined), true);
  const counted: boolean[] = [];
  checkRbac([filter, filter], subject, (_f, allowed) => counted.push(allowed));
  assert.deepEqual(counted, [false], 'the first denial stops the chain');
});

test('peerNames: a plain socket has no certificate', () => {
  assert.equal(peerNames(undefined), undefined);
  assert.equal(peerNames({ encrypted: undefined } as never), undefined);
  // (Names on TLS connections come from the handshake the listener recorded: conformance/cases-tls.ts and cases-authz.ts.)
});

test('RBAC stats carry Envoy\'s Prometheus names', async () => {
  const { ProxyStats } = await import('../admin/stats.js');
  const stats = new ProxyStats();
  stats.rbac('inbound_127.248.0.1_8080', '', true);
  stats.rbac('inbound_127.248.0.1_8080', '', false);
  stats.rbac(undefined, 'tcp.', false);
  const text = await stats.text();
  assert.match(text, /envoy_http_rbac_allowed\{envoy_http_conn_manager_prefix="inbound_127.248.0.1_8080"\} 1/);
  assert.match(text, /envoy_http_rbac_denied\{envoy_http_conn_manager_prefix="inbound_127.248.0.1_8080"\} 1/);
  assert.match(text, /envoy_tcp_rbac_denied 1/);
});
