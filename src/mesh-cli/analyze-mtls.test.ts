// `meshwork analyze -f` reads PeerAuthentications from the files, with their age: two namespace-wide
// policies in one namespace (MW0015) name the younger one. (IST0113 needs pods with sidecars, which
// files of Deployments do not show: translate/mtls.test.ts covers it.)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messageType } from '../controlplane/analysis-messages.js';
import { parseManifests } from '../k8s/client/manifests.js';
import { analyze } from '../translate/translate.js';
import { offlineSnapshot } from './analyze-offline.js';
import { HTTPBIN_FILES } from './testdata/httpbin-files.js';

const FILES = `${HTTPBIN_FILES}---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: foo, creationTimestamp: "2026-01-01T00:00:00Z"}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: second, namespace: foo, creationTimestamp: "2026-02-01T00:00:00Z"}
spec: {mtls: {mode: PERMISSIVE}}
`;

test('analyze -f: PeerAuthentications from the files: MW0015 for the younger of two namespace-wide policies', () => {
  const { snapshot } = offlineSnapshot(parseManifests(FILES, 'mtls.yaml'), 'foo');
  assert.equal(snapshot.peerAuthentications?.length, 2);
  const codes = analyze(snapshot).map((p) => `${p.kind}/${p.name} ${messageType(p.code).code}`);
  assert.deepEqual(codes.filter((c) => c.endsWith('MW0015')), ['PeerAuthentication/second MW0015']);
});
