// Protobuf bodies built with Kubernetes' own definitions, read back as the JSON Go would write: the
// conversions kubectl's create commands do not reach (times, int-or-string, bytes, inlined structs,
// renamed fields, slice types, carried JSON).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StatusError } from '../../k8s/status.js';
import { loadApiDefinitions } from '../../k8s/protobuf/api-definitions.js';
import { messageToJson } from '../../k8s/protobuf/to-json.js';
import { decodeKubernetesProtobuf } from './protobuf.js';

const defs = loadApiDefinitions();
// Assertions walk decoded JSON, whose shape is what is being tested.
type Json = Record<string, any>;

function body(apiVersion: string, kind: string, object: Record<string, unknown>): Buffer {
  const type = defs.messageFor(apiVersion, kind)!;
  const raw = type.encode(type.fromObject(object)).finish();
  const envelope = defs.unknown.encode(defs.unknown.fromObject({ typeMeta: { apiVersion, kind }, raw })).finish();
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), envelope]);
}

const decode = (apiVersion: string, kind: string, object: Record<string, unknown>): Json => decodeKubernetesProtobuf(body(apiVersion, kind, object), defs);

function statusOf(fn: () => unknown): { code: number; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof StatusError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('no error');
}

describe('protobuf bodies read with the Kubernetes definitions', () => {
  test('a Pod: times, int-or-string, quantities, inlined structs, value and pointer fields', () => {
    const pod = decode('v1', 'Pod', {
      metadata: { name: 'p', uid: '', generation: 0, creationTimestamp: { seconds: 1714557600, nanos: 5 }, labels: { app: 'a' } },
      spec: {
        containers: [
          {
            name: 'c',
            image: 'i',
            ports: [{ containerPort: 80, hostPort: 0 }],
            readinessProbe: { handler: { httpGet: { path: '/', port: { type: 1, strVal: 'http' } } }, timeoutSeconds: 0 },
            livenessProbe: { handler: { tcpSocket: { port: { type: 0, intVal: 8080 } } } },
            resources: { limits: { cpu: { string: '100m' }, memory: { string: '1Gi' } } },
            tty: false,
          },
        ],
        volumes: [{ name: 'v', volumeSource: { emptyDir: {} } }],
        terminationGracePeriodSeconds: 0,
        shareProcessNamespace: false,
      },
    });
    assert.deepEqual(pod, {
      apiVersion: 'v1',
      kind: 'Pod',
      // uid and generation are omitempty values: dropped when zero. The time keeps whole seconds, as Go reads it.
      metadata: { name: 'p', creationTimestamp: '2024-05-01T10:00:00Z', labels: { app: 'a' } },
      spec: {
        containers: [
          {
            name: 'c',
            image: 'i',
            ports: [{ containerPort: 80 }],
            readinessProbe: { httpGet: { path: '/', port: 'http' } },
            livenessProbe: { tcpSocket: { port: 8080 } },
            resources: { limits: { cpu: '100m', memory: '1Gi' } },
          },
        ],
        volumes: [{ name: 'v', emptyDir: {} }],
        // Pointers are kept when set, even to zero or false.
        terminationGracePeriodSeconds: 0,
        shareProcessNamespace: false,
      },
      // A value struct not sent is there, empty, as in Go.
      status: {},
    });
  });

  test('an empty metav1.Time is null; an unset value struct holds it', () => {
    const ns = decode('v1', 'Namespace', { metadata: { name: 'n', creationTimestamp: {} } });
    assert.deepEqual(ns, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'n', creationTimestamp: null }, spec: {}, status: {} });
    const bare = decode('v1', 'Namespace', {});
    assert.deepEqual(bare.metadata, { creationTimestamp: null });
  });

  test('an Event: MicroTime to the microsecond, non-omitempty times are null', () => {
    const ev = decode('v1', 'Event', { metadata: { name: 'e' }, eventTime: { seconds: 1714557600, nanos: 123456789 }, reason: 'R', count: 0 });
    assert.equal(ev.eventTime, '2024-05-01T10:00:00.123456Z');
    assert.equal(ev.firstTimestamp, null);
    assert.equal(ev.reason, 'R');
    assert.ok(!('count' in ev), 'count is omitempty');
    assert.deepEqual(ev.involvedObject, {});
  });

  test('a Secret: bytes as base64, empty maps left out', () => {
    const secret = decode('v1', 'Secret', { metadata: { name: 's' }, data: { k: Buffer.from('v'), empty: Buffer.alloc(0) }, type: 'Opaque' });
    assert.deepEqual(secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', creationTimestamp: null }, data: { k: 'dg==', empty: '' }, type: 'Opaque' });
  });

  test('JSON names that differ from the proto names, slice types, non-omitempty lists', () => {
    const review = decode('authentication.k8s.io/v1', 'SelfSubjectReview', {
      status: { userInfo: { username: 'admin', extra: { scopes: { items: ['a', 'b'] }, none: { items: [] } } } },
    });
    assert.deepEqual(review.status.userInfo, { username: 'admin', extra: { scopes: ['a', 'b'], none: null } });
    const token = decode('authentication.k8s.io/v1', 'TokenRequest', { spec: { boundObjectRef: { kind: 'Pod', name: 'p', uID: 'u-1' } } });
    assert.deepEqual(token.spec.boundObjectRef, { kind: 'Pod', name: 'p', uid: 'u-1' });
    // EndpointSlice.endpoints is not omitempty: a nil slice is null in Go's JSON.
    const slice = decode('discovery.k8s.io/v1', 'EndpointSlice', { metadata: { name: 'x' }, addressType: 'IPv4' });
    assert.equal(slice.endpoints, null);
    assert.equal(slice.ports, null);
  });

  test('carried JSON: RawExtension and FieldsV1; other bytes are a bad request', () => {
    const rev = decode('apps/v1', 'ControllerRevision', {
      metadata: { name: 'r', managedFields: [{ manager: 'm', fieldsType: 'FieldsV1', fieldsV1: { Raw: Buffer.from('{"f:spec":{}}') } }] },
      data: { raw: Buffer.from('{"spec":{"x":1}}') },
      revision: 3,
    });
    assert.deepEqual(rev.data, { spec: { x: 1 } });
    assert.equal(rev.revision, 3);
    assert.deepEqual(rev.metadata.managedFields, [{ manager: 'm', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }]);
    const bad = statusOf(() => decode('apps/v1', 'ControllerRevision', { data: { raw: Buffer.from([1, 2, 3]) } }));
    assert.equal(bad.code, 400);
    assert.match(bad.message, /RawExtension in the protobuf body holds 3 bytes that are not JSON/);
  });

  test('metav1.Duration', () => {
    const duration = defs.root.lookupType('k8s.io.apimachinery.pkg.apis.meta.v1.Duration');
    assert.equal(messageToJson(duration, duration.decode(duration.encode({ duration: 90_000_000_000 }).finish()) as never, defs.goTypesOf), '1m30s');
  });

  test('a kind with no message is a 415 naming what is read; a broken body is a 400', () => {
    const pdb = statusOf(() => decodeKubernetesProtobuf(Buffer.concat([Buffer.from('k8s\0', 'latin1'), defs.unknown.encode({ typeMeta: { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' } }).finish()]), defs));
    assert.equal(pdb.code, 415);
    assert.match(pdb.message, /protobuf bodies are read for the kinds of .*apps\/v1.* \(Kubernetes v0\.32\.4\), not policy\/v1\/PodDisruptionBudget: send JSON or YAML/);
    assert.equal(statusOf(() => decodeKubernetesProtobuf(Buffer.from('{"kind":"Pod"}'), defs)).code, 415);
    const truncated = body('v1', 'ConfigMap', { metadata: { name: 'c' }, data: { a: 'b' } }).subarray(0, 20);
    const broken = statusOf(() => decodeKubernetesProtobuf(truncated, defs));
    assert.equal(broken.code, 400);
    assert.match(broken.message, /the protobuf body could not be decoded as runtime\.Unknown/);
  });
});
