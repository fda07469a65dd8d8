import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interceptionProblem, parseInterceptionOption } from './interception-option.js';

describe('meshwork up --interception', () => {
  it('takes http_proxy or iptables and names the choices otherwise', () => {
    assert.equal(parseInterceptionOption('iptables'), 'iptables');
    assert.equal(parseInterceptionOption('http_proxy'), 'http_proxy');
    assert.throws(() => parseInterceptionOption('tproxy'), /"tproxy" is not a mode; use http_proxy \(the default\) or iptables/);
  });

  it('http_proxy always runs; iptables without root says so; with root it refuses loudly what is not built', () => {
    assert.equal(interceptionProblem('http_proxy', () => 'never asked'), undefined);
    assert.match(interceptionProblem('iptables', () => 'iptables interception needs root (...)')!, /^--interception iptables: iptables interception needs root/);
    assert.match(interceptionProblem('iptables', () => undefined)!, /do not yet run pods in network namespaces/);
  });
});
