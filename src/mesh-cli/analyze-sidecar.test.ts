// `meshwork analyze -f` reads Sidecars from the files: Istio's validation (IST0106) and the checks across
// Sidecars (IST0111: two without workloadSelector in one namespace).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseManifests } from '../k8s/client/manifests.js';
import { analyze } from '../translate/translate.js';
import { offlineSnapshot } from './analyze-offline.js';
import { validationProblems } from './analyze.js';

const FILES = `
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: first, namespace: sample}
spec:
  egress: [{hosts: [./*]}]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: second, namespace: sample}
spec:
  egress: [{hosts: [foo.com]}]
`;

test('analyze -f: a Sidecar host without namespace/ is IST0106, two Sidecars without selector in one namespace IST0111', () => {
  const manifests = parseManifests(FILES, 'sidecars.yaml');
  const invalid = validationProblems(manifests.map((m) => m.object), 'sample');
  assert.deepEqual(invalid.map((p) => [p.kind, p.name, p.field, p.message]), [
    ['Sidecar', 'second', 'spec.egress[0].hosts[0]', 'Schema validation error: host must be of form namespace/dnsName'],
  ]);
  const { snapshot } = offlineSnapshot(manifests, 'sample');
  assert.equal(snapshot.sidecars?.length, 2);
  const found = analyze(snapshot).filter((p) => p.code === 'multiple-sidecars-without-selector');
  assert.deepEqual(found.map((p) => p.name).sort(), ['first', 'second']);
});
