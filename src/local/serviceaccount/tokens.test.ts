import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../k8s/object.js';
import { signJwt, verifyJwt } from './jwt.js';
import { LEGACY_ISSUER, ServiceAccountTokens, type BoundObjectLookup } from './tokens.js';

const key = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('JWT (ES256)', () => {
  it('signs with kid and verifies; a changed claim, another key or another algorithm is refused', () => {
    const k = key();
    const token = signJwt({ sub: 'x', n: 1 }, k.privateKey);
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { alg: string; kid: string };
    assert.equal(header.alg, 'ES256');
    assert.match(header.kid, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(verifyJwt(token, k.publicKey), { sub: 'x', n: 1 });
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: 'admin', n: 1 })).toString('base64url')}.${s}`;
    assert.throws(() => verifyJwt(forged, k.publicKey), /invalid signature/);
    assert.throws(() => verifyJwt(token, key().publicKey), /signed by another key/);
    const none = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${token.split('.')[1]}.AA`;
    assert.throws(() => verifyJwt(none, k.publicKey), /unexpected signing algorithm "none"/);
    assert.throws(() => verifyJwt('not-a-token', k.publicKey), /not a compact JWT/);
  });
});

describe('service-account tokens', () => {
  const sa = { name: 'sleep', uid: 'sa-uid-1' };
  const pod = { name: 'sleep-1', uid: 'pod-uid-1', nodeName: 'cluster-1-node' };
  function world(overrides: Partial<{ saUid: string | undefined; podUid: string | undefined; secret: KubeObject | undefined }> = {}): BoundObjectLookup {
    const state = { saUid: 'sa-uid-1' as string | undefined, podUid: 'pod-uid-1' as string | undefined, secret: undefined as KubeObject | undefined, ...overrides };
    return {
      serviceAccountUid: (ns, name) => (ns === 'sample' && name === 'sleep' ? state.saUid : undefined),
      pod: (ns, name) => (ns === 'sample' && name === 'sleep-1' && state.podUid ? { uid: state.podUid } : undefined),
      secret: (ns, name) => (ns === 'sample' && name === 'sleep-token' ? state.secret : undefined),
    };
  }

  it('a bound token carries kube-apiserver\'s claims and authenticates as the service account, with the pod in extra', () => {
    let now = 1_700_000_000_000;
    const tokens = new ServiceAccountTokens(key(), undefined, () => now);
    const issued = tokens.issueBound({ namespace: 'sample', serviceAccount: sa, pod });
    const c = claimsOf(issued.token);
    assert.deepEqual(c.aud, ['https://kubernetes.default.svc.cluster.local']);
    assert.equal(c.iss, 'https://kubernetes.default.svc.cluster.local');
    assert.equal(c.sub, 'system:serviceaccount:sample:sleep');
    assert.equal(c.exp, 1_700_000_000 + 3600);
    assert.equal(c.iat, 1_700_000_000);
    assert.equal(c.nbf, 1_700_000_000);
    assert.deepEqual(c['kubernetes.io'], { namespace: 'sample', serviceaccount: sa, pod: { name: 'sleep-1', uid: 'pod-uid-1' }, node: { name: 'cluster-1-node' } });
    assert.equal(issued.expirationTimestamp, (1_700_000_000 + 3600) * 1000);
    const checked = tokens.check(issued.token, world());
    assert.ok(checked.ok);
    assert.equal(checked.user.username, 'system:serviceaccount:sample:sleep');
    assert.equal(checked.user.uid, 'sa-uid-1');
    assert.deepEqual(checked.user.groups, ['system:serviceaccounts', 'system:serviceaccounts:sample', 'system:authenticated']);
    assert.deepEqual(checked.user.extra?.['authentication.kubernetes.io/pod-name'], ['sleep-1']);
    now += 3600_000;
    assert.deepEqual(tokens.check(issued.token, world()), { ok: false, error: 'service account token has expired' });
  });

  it('a bound token dies with its pod or service account, and only serves its audiences', () => {
    const tokens = new ServiceAccountTokens(key());
    const { token } = tokens.issueBound({ namespace: 'sample', serviceAccount: sa, pod, audiences: ['istio-ca'] });
    assert.ok(tokens.check(token, world(), ['istio-ca']).ok);
    assert.match(String((tokens.check(token, world()) as { error: string }).error), /token audiences \["istio-ca"\] is invalid for the target audiences \["https:\/\/kubernetes.default.svc.cluster.local"\]/);
    assert.match(String((tokens.check(token, world({ podUid: undefined }), ['istio-ca']) as { error: string }).error), /pod sample\/sleep-1 has been deleted/);
    assert.match(String((tokens.check(token, world({ podUid: 'other' }), ['istio-ca']) as { error: string }).error), /pod UID \(pod-uid-1\) does not match/);
    assert.match(String((tokens.check(token, world({ saUid: 'recreated' }), ['istio-ca']) as { error: string }).error), /service account UID \(sa-uid-1\) does not match/);
    assert.match(String((new ServiceAccountTokens(key()).check(token, world(), ['istio-ca']) as { error: string }).error), /signed by another key/);
    assert.throws(() => tokens.issueBound({ namespace: 'sample', serviceAccount: sa, expirationSeconds: 60 }), /may not specify a duration less than 10 minutes/);
  });

  it('a legacy token is valid while its Secret holds it and its service account lives', () => {
    const tokens = new ServiceAccountTokens(key());
    const token = tokens.issueLegacy('sample', sa, 'sleep-token');
    assert.equal(claimsOf(token).iss, LEGACY_ISSUER);
    assert.equal(claimsOf(token).exp, undefined);
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sleep-token', namespace: 'sample' }, data: { token: Buffer.from(token).toString('base64') } } as KubeObject;
    const ok = tokens.check(token, world({ secret }));
    assert.ok(ok.ok);
    assert.equal(ok.user.username, 'system:serviceaccount:sample:sleep');
    assert.match(String((tokens.check(token, world()) as { error: string }).error), /token secret sample\/sleep-token has been deleted/);
    assert.match(String((tokens.check(token, world({ secret, saUid: undefined })) as { error: string }).error), /has been deleted or recreated/);
  });
});
