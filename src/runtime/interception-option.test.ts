import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locateEnvoy } from '../envoy/locate.js';
import { interceptionProblem, parseInterceptionOption, podUserAccessProblem } from './interception-option.js';

describe('meshwork up --interception', () => {
  it('takes http_proxy or iptables and names the choices otherwise', () => {
    assert.equal(parseInterceptionOption('iptables'), 'iptables');
    assert.equal(parseInterceptionOption('http_proxy'), 'http_proxy');
    assert.throws(() => parseInterceptionOption('tproxy'), /"tproxy" is not a mode; use http_proxy \(the default\) or iptables/);
  });

  it('http_proxy always runs; iptables without root or tools says what is missing; with them it runs', () => {
    assert.equal(interceptionProblem('http_proxy', () => 'never asked'), undefined);
    assert.match(interceptionProblem('iptables', () => 'iptables interception needs root (...)')!, /^--interception iptables: iptables interception needs root/);
    assert.match(interceptionProblem('iptables', () => 'iptables interception needs `setpriv` (install iproute2, iptables and util-linux)')!, /needs `setpriv`/);
    // With the tools, only Envoy can be missing (captured pods need it).
    if (locateEnvoy()) assert.equal(interceptionProblem('iptables', () => undefined), undefined);
    else assert.match(interceptionProblem('iptables', () => undefined)!, /captured pods need Envoy/);
  });

  it('names the folders the proxy user cannot reach', { skip: process.getuid?.() !== 0 ? 'needs root (setpriv to uid 1337)' : false }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'mw-private-'));
    try {
      chmodSync(dir, 0o700);
      assert.match(podUserAccessProblem(join(dir, 'state'), 1337) ?? '', new RegExp(`uid 1337, which cannot reach ${dir}/state`));
      chmodSync(dir, 0o755);
      mkdirSync(join(dir, 'state'));
      assert.equal(podUserAccessProblem(join(dir, 'state'), 1337), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
