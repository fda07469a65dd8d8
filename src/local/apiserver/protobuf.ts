// Kubernetes' protobuf request bodies, for the typed clients of kubectl that send them
// (`kubectl create namespace|configmap|secret|serviceaccount` POST `application/vnd.kubernetes.protobuf`).
// The wire format: the magic bytes "k8s\0", then a runtime.Unknown {typeMeta, raw} whose raw bytes are
// the object's message. No npm package ships Kubernetes' generated.proto files, so the few messages
// these commands send are described below with the field numbers of k8s.io/api and k8s.io/apimachinery
// generated.proto (and the review kinds of `kubectl auth`); any other kind gets a 415 that says to use JSON or YAML (kubectl apply/create -f).
import { StatusError } from '../../config/status.js';

type FieldKind = 'string' | 'bool' | 'int' | 'bytes' | 'time' | { message: MessageSchema } | { map: 'string' | 'bytes' };
interface FieldSchema {
  name: string;
  kind: FieldKind;
  repeated?: boolean;
}
type MessageSchema = Record<number, FieldSchema>;

const TYPE_META: MessageSchema = { 1: { name: 'apiVersion', kind: 'string' }, 2: { name: 'kind', kind: 'string' } };
const UNKNOWN: MessageSchema = {
  1: { name: 'typeMeta', kind: { message: TYPE_META } },
  2: { name: 'raw', kind: 'bytes' },
  3: { name: 'contentEncoding', kind: 'string' },
  4: { name: 'contentType', kind: 'string' },
};
const OWNER_REFERENCE: MessageSchema = {
  5: { name: 'apiVersion', kind: 'string' },
  1: { name: 'kind', kind: 'string' },
  3: { name: 'name', kind: 'string' },
  4: { name: 'uid', kind: 'string' },
  6: { name: 'controller', kind: 'bool' },
  7: { name: 'blockOwnerDeletion', kind: 'bool' },
};
const OBJECT_META: MessageSchema = {
  1: { name: 'name', kind: 'string' },
  2: { name: 'generateName', kind: 'string' },
  3: { name: 'namespace', kind: 'string' },
  5: { name: 'uid', kind: 'string' },
  6: { name: 'resourceVersion', kind: 'string' },
  7: { name: 'generation', kind: 'int' },
  8: { name: 'creationTimestamp', kind: 'time' },
  11: { name: 'labels', kind: { map: 'string' } },
  12: { name: 'annotations', kind: { map: 'string' } },
  13: { name: 'ownerReferences', kind: { message: OWNER_REFERENCE }, repeated: true },
  14: { name: 'finalizers', kind: 'string', repeated: true },
};
const OBJECT_REFERENCE: MessageSchema = {
  1: { name: 'kind', kind: 'string' },
  2: { name: 'namespace', kind: 'string' },
  3: { name: 'name', kind: 'string' },
  4: { name: 'uid', kind: 'string' },
  5: { name: 'apiVersion', kind: 'string' },
  6: { name: 'resourceVersion', kind: 'string' },
  7: { name: 'fieldPath', kind: 'string' },
};
const metadata: FieldSchema = { name: 'metadata', kind: { message: OBJECT_META } };

/** Kinds whose protobuf bodies this server reads, by `apiVersion/kind`. */
const KINDS: Record<string, MessageSchema> = {
  'v1/Namespace': {
    1: metadata,
    2: { name: 'spec', kind: { message: { 1: { name: 'finalizers', kind: 'string', repeated: true } } } },
  },
  'v1/ConfigMap': {
    1: metadata,
    2: { name: 'data', kind: { map: 'string' } },
    3: { name: 'binaryData', kind: { map: 'bytes' } },
    4: { name: 'immutable', kind: 'bool' },
  },
  'v1/Secret': {
    1: metadata,
    2: { name: 'data', kind: { map: 'bytes' } },
    3: { name: 'type', kind: 'string' },
    4: { name: 'stringData', kind: { map: 'string' } },
    5: { name: 'immutable', kind: 'bool' },
  },
  'v1/ServiceAccount': {
    1: metadata,
    2: { name: 'secrets', kind: { message: OBJECT_REFERENCE }, repeated: true },
    3: { name: 'imagePullSecrets', kind: { message: { 1: { name: 'name', kind: 'string' } } }, repeated: true },
    4: { name: 'automountServiceAccountToken', kind: 'bool' },
  },
  // `kubectl auth can-i` and `kubectl auth whoami` (k8s.io/api authorization/v1 and authentication/v1).
  'authorization.k8s.io/v1/SelfSubjectAccessReview': {
    1: metadata,
    2: {
      name: 'spec',
      kind: {
        message: {
          1: {
            name: 'resourceAttributes',
            kind: {
              message: {
                1: { name: 'namespace', kind: 'string' },
                2: { name: 'verb', kind: 'string' },
                3: { name: 'group', kind: 'string' },
                4: { name: 'version', kind: 'string' },
                5: { name: 'resource', kind: 'string' },
                6: { name: 'subresource', kind: 'string' },
                7: { name: 'name', kind: 'string' },
              },
            },
          },
          2: { name: 'nonResourceAttributes', kind: { message: { 1: { name: 'path', kind: 'string' }, 2: { name: 'verb', kind: 'string' } } } },
        },
      },
    },
  },
  'authorization.k8s.io/v1/SelfSubjectRulesReview': { 1: metadata, 2: { name: 'spec', kind: { message: { 1: { name: 'namespace', kind: 'string' } } } } },
  'authentication.k8s.io/v1/SelfSubjectReview': { 1: metadata },
};

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

function unsupported(detail: string): StatusError {
  return new StatusError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (${detail})`,
  );
}

/** Decodes a protobuf request body into the JSON object it stands for. */
export function decodeKubernetesProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw unsupported('a protobuf body must start with the k8s magic bytes');
  const envelope = decodeMessage(body.subarray(4), UNKNOWN);
  const typeMeta = (envelope.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const key = `${typeMeta.apiVersion}/${typeMeta.kind}`;
  const schema = KINDS[key];
  if (!schema) {
    throw unsupported(`protobuf bodies are read for ${Object.keys(KINDS).join(', ')} only, not ${key}: send JSON or YAML, e.g. kubectl apply -f`);
  }
  const raw = envelope.raw instanceof Buffer ? envelope.raw : Buffer.alloc(0);
  return { apiVersion: typeMeta.apiVersion, kind: typeMeta.kind, ...decodeMessage(raw, schema) };
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.buf.length) throw unsupported('truncated protobuf varint');
      const byte = this.buf[this.pos++];
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw unsupported('protobuf varint too long');
    }
  }
  bytes(): Buffer {
    const len = this.varint();
    if (this.pos + len > this.buf.length) throw unsupported('truncated protobuf field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw unsupported(`unsupported protobuf wire type ${wireType}`);
  }
}

function decodeMessage(buf: Buffer, schema: MessageSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const reader = new Reader(buf);
  while (!reader.done()) {
    const tag = reader.varint();
    const field = schema[Math.floor(tag / 8)];
    const wireType = tag & 7;
    if (!field) {
      reader.skip(wireType);
      continue;
    }
    const value = decodeField(reader, field.kind, wireType);
    if (typeof field.kind === 'object' && 'map' in field.kind) {
      const [k, v] = value as [string, unknown];
      const map = (out[field.name] ??= {}) as Record<string, unknown>;
      map[k] = v;
    } else if (field.repeated) {
      ((out[field.name] ??= []) as unknown[]).push(value);
    } else if (value !== '') {
      // Go writes every string field, empty ones too; in JSON they are omitted (omitempty), so a
      // client that sent generateName "" did not set it.
      out[field.name] = value;
    }
  }
  return out;
}

function decodeField(reader: Reader, kind: FieldKind, wireType: number): unknown {
  if (kind === 'bool') return reader.varint() !== 0;
  if (kind === 'int') return reader.varint();
  if (kind === 'string') return reader.bytes().toString('utf8');
  if (kind === 'bytes') return Buffer.from(reader.bytes());
  if (kind === 'time') {
    const t = decodeMessage(reader.bytes(), { 1: { name: 'seconds', kind: 'int' }, 2: { name: 'nanos', kind: 'int' } });
    return new Date(Number(t.seconds ?? 0) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  if (wireType !== 2) throw unsupported('malformed protobuf: expected a length-delimited field');
  if ('message' in kind) return decodeMessage(reader.bytes(), kind.message);
  const entry = decodeMessage(reader.bytes(), { 1: { name: 'key', kind: 'string' }, 2: { name: 'value', kind: kind.map } });
  const value = kind.map === 'bytes' && entry.value instanceof Buffer ? entry.value.toString('base64') : (entry.value ?? (kind.map === 'bytes' ? '' : ''));
  return [String(entry.key ?? ''), value];
}
