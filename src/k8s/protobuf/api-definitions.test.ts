// The installed definitions (scripts/ensure-k8s-proto.mjs) against the converter: every message a kind
// can hold has the Go fields the JSON rules need, and every Go type with its own MarshalJSON is converted
// by a rule of its own. A newer k8s.io/api that breaks either fails here, not on a user's request.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import protobuf from 'protobufjs';
import { RESOURCE_TYPES, apiVersionOf } from '../kinds.js';
import { loadApiDefinitions } from './api-definitions.js';
import { OWN_JSON_MESSAGES } from './to-json.js';

const defs = loadApiDefinitions();

function allTypes(ns: protobuf.NamespaceBase): protobuf.Type[] {
  return ns.nestedArray.flatMap((n) => (n instanceof protobuf.Type ? [n] : n instanceof protobuf.Namespace ? allTypes(n) : []));
}

/** The messages an object of a kind can contain, kinds first. */
function reachableFromKinds(): protobuf.Type[] {
  const objectMeta = defs.root.lookupType('k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta');
  const kinds = allTypes(defs.root).filter((t) => t.fields.metadata?.resolvedType === objectMeta && defs.goTypesOf(t).groupVersion);
  const seen = new Set<protobuf.Type>();
  const walk = (t: protobuf.Type): void => {
    if (seen.has(t) || OWN_JSON_MESSAGES.has(t.fullName.slice(1))) return;
    seen.add(t);
    for (const f of t.fieldsArray) if (f.resolvedType instanceof protobuf.Type) walk(f.resolvedType);
  };
  kinds.forEach(walk);
  return [...seen];
}

describe('the installed Kubernetes API definitions', () => {
  test('every built-in kind this server accepts writes of has a message', () => {
    const writable = RESOURCE_TYPES.filter((t) => (t.group === '' || t.group.endsWith('.k8s.io') || !t.group.includes('.')) && t.verbs.includes('create'));
    assert.ok(writable.length >= 12);
    for (const t of writable) {
      const apiVersion = apiVersionOf(t.group, t.versions[0]);
      assert.ok(defs.messageFor(apiVersion, t.kind), `no message for ${apiVersion}/${t.kind}`);
    }
    assert.ok(defs.messageFor('batch/v1', 'Job'), 'batch/v1 Job, for kubectl create job once Job is served');
    assert.equal(defs.messageFor('policy/v1', 'PodDisruptionBudget'), undefined);
    assert.equal(defs.messageFor('v1', 'Nonsense'), undefined);
  });

  test('every message a kind can hold maps to a Go struct (or slice) with a JSON rule for each field', () => {
    const types = reachableFromKinds();
    assert.ok(types.length > 300, `only ${types.length} messages reachable`);
    const problems: string[] = [];
    for (const t of types) {
      const go = defs.goTypesOf(t);
      if (go.jsonMarshalers.has(t.name)) problems.push(`${t.fullName}: Go marshals it itself, and it has no rule of its own`);
      else if (go.sliceTypes.has(t.name)) {
        if (t.fieldsArray.map((f) => f.name).join() !== 'items') problems.push(`${t.fullName}: a slice type whose message is not {items}`);
      } else {
        const struct = go.structs.get(t.name);
        if (!struct) problems.push(`${t.fullName}: no Go struct`);
        else for (const f of t.fieldsArray) if (!struct.has(f.name)) problems.push(`${t.fullName}.${f.name}: no Go field`);
      }
    }
    assert.deepEqual(problems, []);
  });

  test('the messages with rules of their own exist', () => {
    for (const name of OWN_JSON_MESSAGES) assert.ok(defs.root.lookupType(name), name);
  });
});
