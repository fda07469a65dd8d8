import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { canaryManifestsYaml } from './cli-register.js';
import { CANARY_SCHEMA } from '../config/canary/schema.js';

test('canary manifests: the CRD carries the served spec fields, the ClusterRole may patch VirtualServices and write nothing else of the mesh', () => {
  const docs = parseAllDocuments(canaryManifestsYaml()).map((d) => d.toJS() as Record<string, any>);
  assert.deepEqual(docs.map((d) => `${d.apiVersion} ${d.kind} ${d.metadata.name}`), [
    'apiextensions.k8s.io/v1 CustomResourceDefinition canaries.rollouts.meshwork.io',
    'rbac.authorization.k8s.io/v1 ClusterRole meshwork-canary-controller',
  ]);
  const version = docs[0]!.spec.versions[0];
  assert.equal(version.name, 'v1alpha1');
  assert.deepEqual(version.subresources, { status: {} });
  const served = CANARY_SCHEMA as unknown as { properties: { spec: { required: string[]; properties: object } } };
  const schema = version.schema.openAPIV3Schema;
  assert.equal(schema.type, 'object');
  assert.deepEqual(schema.properties.spec.required, served.properties.spec.required);
  assert.deepEqual(Object.keys(schema.properties.spec.properties), Object.keys(served.properties.spec.properties));
  const writes = docs[1]!.rules.filter((r: { verbs: string[] }) => r.verbs.some((v) => ['create', 'update', 'patch', 'delete'].includes(v)));
  assert.deepEqual(writes.map((r: { resources: string[] }) => r.resources.join(',')).sort(), ['canaries/status', 'events', 'virtualservices']);
});
