// `meshwork analyze -f` reads AuthorizationPolicies from the files: Istio's validation (IST0106), a
// selector that matches no workload (IST0127), what is not enforced as written (MW0014).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messageType } from '../controlplane/analysis-messages.js';
import { parseManifests } from '../k8s/client/manifests.js';
import { analyze } from '../translate/translate.js';
import { offlineSnapshot } from './analyze-offline.js';
import { HTTPBIN_FILES } from './testdata/httpbin-files.js';
import { validationProblems } from './analyze.js';

const FILES = `${HTTPBIN_FILES}---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: httpbin, namespace: foo}
spec:
  selector: {matchLabels: {app: httpbin}}
  rules: [{to: [{operation: {methods: [GET]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: typo, namespace: foo}
spec:
  selector: {matchLabels: {app: httpbn}}
  rules: [{from: [{source: {requestPrincipals: ['*']}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext, namespace: foo}
spec: {action: CUSTOM, provider: {name: opa}, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: bad, namespace: foo}
spec: {action: DENY, rules: [{to: [{operation: {ports: ['0']}}]}]}
`;

test('analyze -f: AuthorizationPolicies: IST0106 from Istio\'s validation, IST0127 for a selector that selects nothing, MW0014 for CUSTOM and requestPrincipals', () => {
  const manifests = parseManifests(FILES, 'authz.yaml');
  const invalid = validationProblems(manifests.map((m) => m.object), 'foo');
  assert.deepEqual(invalid.map((p) => [p.kind, p.name, messageType(p.code).code]), [['AuthorizationPolicy', 'bad', 'IST0106']]);
  const { snapshot } = offlineSnapshot(manifests, 'foo');
  assert.equal(snapshot.authorizationPolicies?.length, 4);
  const found = analyze(snapshot).filter((p) => p.kind === 'AuthorizationPolicy');
  assert.deepEqual(found.map((p) => [p.name, messageType(p.code).code, p.field]), [
    ['ext', 'MW0014', 'spec.action'],
    ['typo', 'MW0014', 'spec.rules[0].from[0].source.requestPrincipals'],
    ['typo', 'IST0127', 'spec.selector'],
  ]);
});
