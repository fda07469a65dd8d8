// Differential conformance: Envoy is the oracle. Every case of the table is served from one ADS
// server to a real Envoy and to the meshwork proxy; both get the same requests and must give the same
// answers (status, which upstream, the headers that matter, what the upstream saw).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NO_ENVOY, testEnvoyPath } from '../envoy/testdata/live-envoy.js';
import { CASES } from './cases.js';
import { comparable, judgeDistribution } from './compare.js';
import { CaseRunner, emptySnapshot } from './runner.js';
import { disagreement, simulatedOutcome } from './simulated.js';
import { startTargets, type Targets } from './targets.js';
import { createCertificateAuthority, issueServerCertificate } from '../security/pki/authority.js';
import { startL4Upstream } from './l4-upstream.js';
import { makeTestPki } from './tls-pki.js';
import { startEchoUpstream, type EchoUpstream } from './upstream.js';

const envoyPath = testEnvoyPath();

describe('conformance: the meshwork proxy answers as Envoy does', { skip: envoyPath ? false : NO_ENVOY }, () => {
  const upstreams = new Map<string, EchoUpstream>();
  let targets: Targets;
  let runner: CaseRunner;

  before(async () => {
    const specs = [
      ['a', {}],
      ['b', {}],
      ['c', {}],
      ['shadow', {}],
      ['broken', { status: 500 }],
      ['h2', { protocol: 'h2c' }],
      ['grpc', { protocol: 'grpc' }],
      ['bad-gateway', { status: 502 }],
      ['d', {}],
      ['e', {}],
      // Reached by name: DNS clusters resolve 'localhost' to it.
      ['local', { host: '127.0.0.1' }],
    ] as const;
    for (const [i, [name, opts]] of specs.entries()) upstreams.set(name, await startEchoUpstream(name, { host: `127.230.1.${i + 1}`, ...opts }));
    // L4 upstreams: raw TCP, and TLS terminated with a certificate made here (the proxies pass TLS through).
    const ca = await createCertificateAuthority('conformance test CA');
    const certificate = await issueServerCertificate(ca, { commonName: 'backend.example.com', dnsNames: ['*.example.com', '*.wild.example.com'], ipAddresses: [] });
    const l4 = [['tcp-a', 'tcp'], ['tcp-b', 'tcp'], ['tcp-c', 'tcp'], ['tls-a', 'tls'], ['tls-b', 'tls'], ['tls-c', 'tls']] as const;
    for (const [i, [name, protocol]] of l4.entries()) upstreams.set(name, await startL4Upstream(name, { host: `127.230.2.${i + 1}`, protocol, certificate }));
    // An echo upstream that terminates TLS and requires a client certificate from the test mesh root.
    const pki = await makeTestPki();
    upstreams.set('mtls', await startEchoUpstream('mtls', { host: '127.230.3.1', tls: { certPem: pki.upstream.certPem, keyPem: pki.upstream.keyPem, caPem: pki.root.certPem } }));
    targets = await startTargets(envoyPath!, emptySnapshot(upstreams));
    runner = new CaseRunner(targets, upstreams);
  });

  after(async () => {
    runner?.close();
    await targets?.close();
    for (const u of upstreams.values()) await u.close();
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const run = await runner.run(c);
      assert.equal(run.meshworkNack, undefined, `the meshwork proxy refused the config Envoy accepted: ${run.meshworkNack}`);
      if (c.distribution) {
        for (const t of ['envoy', 'meshwork'] as const) {
          const verdict = judgeDistribution(c.distribution.weights, run[t]);
          assert.ok(verdict.pass, `${t}: ${JSON.stringify(verdict.counts)} against ${JSON.stringify(c.distribution.weights)}, p=${verdict.pValue}`);
        }
        return;
      }
      if (c.expectUpstreams) assert.deepEqual(run.envoy.map((o) => o.upstream), c.expectUpstreams, 'Envoy\'s answers are not what the case is about');
      for (const t of ['envoy', 'meshwork'] as const) for (const o of run[t]) c.check?.(o, t);
      for (const t of ['envoy', 'meshwork'] as const) c.expect?.(run[t], t);
      if (c.summarize) {
        assert.deepEqual(c.summarize(run.meshwork), c.summarize(run.envoy));
        return;
      }
      const requests = c.requests ?? [];
      const diffs: string[] = [];
      if (c.simulate) {
        const resources = c.resources();
        requests.forEach((req, i) => {
          const why = disagreement(simulatedOutcome(resources, req, upstreams), run.envoy[i]!);
          if (why) diffs.push(`${req.method ?? 'GET'} ${req.host ?? ''}${req.path} ${JSON.stringify(req.headers ?? {})}: ${why}`);
        });
      }
      requests.forEach((req, i) => {
        const want = comparable(c, run.envoy[i]!);
        const got = comparable(c, run.meshwork[i]!);
        try {
          assert.deepEqual(got, want);
        } catch {
          diffs.push(`${req.method ?? 'GET'} ${req.host ?? ''}${req.path} ${JSON.stringify(req.headers ?? {})}\n  envoy:    ${JSON.stringify(want)}\n  meshwork: ${JSON.stringify(got)}`);
        }
      });
      if (diffs.length > 0) assert.fail(`${diffs.length} disagreements with Envoy on ${requests.length} requests:\n${diffs.join('\n')}`);
    });
  }
});
