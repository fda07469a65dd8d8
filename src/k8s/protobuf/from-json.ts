// The other way from to-json.ts: an object's JSON (as the API server stores and serves it) into the
// message of its Kubernetes protobuf type, ready for protobufjs' encode, so the API server can answer
// clients that ask for `application/vnd.kubernetes.protobuf` (client-go's protobuf clients: Prometheus'
// Kubernetes discovery, controllers). The same Go rules, reversed:
// - each proto field reads the Go field's JSON name; an inlined embedded struct reads the same object;
// - the types with their own JSON: metav1.Time / MicroTime (RFC 3339 -> seconds, nanos), Duration
//   ("1m30s" -> nanoseconds), Quantity (its string), IntOrString (type 0 intVal / type 1 strVal),
//   RawExtension / FieldsV1 / Unknown (their JSON as bytes), GroupVersion ("group/version");
// - slice types (`Verbs`) are a message with `items`; bytes are base64 in JSON.
// JSON keys that are not fields of the message (apiVersion and kind: the envelope carries them) are left out.
import protobuf from 'protobufjs';
import type { GoTypesOf } from './to-json.js';

type Message = Record<string, unknown>;

const META = 'k8s.io.apimachinery.pkg.apis.meta.v1';
const RUNTIME = 'k8s.io.apimachinery.pkg.runtime';

/** JSON that is not the shape of a field's type, named by its path. */
export class UnencodableJson extends Error {}

function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** metav1.Time and MicroTime: an RFC 3339 string (null: the zero time, no fields). */
function timestamp(value: unknown, path: string): Message | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'string') throw new UnencodableJson(`${path}: a time must be an RFC 3339 string, not ${JSON.stringify(value)}`);
  const m = /^(.*?)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(value);
  const ms = Date.parse(m ? `${m[1]}${m[3]}` : value);
  if (!m || Number.isNaN(ms)) throw new UnencodableJson(`${path}: "${value}" is not an RFC 3339 time`);
  const nanos = m[2] ? Number(m[2].padEnd(9, '0')) : 0;
  return { seconds: Math.floor(ms / 1000), ...(nanos ? { nanos } : {}) };
}

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration: '1h2m3.5s', '-1.5ms', '0'. In nanoseconds. */
export function parseGoDuration(text: string, path = 'duration'): number {
  const m = /^([+-])?(.*)$/.exec(text)!;
  if (m[2] === '0') return 0;
  let total = 0;
  let rest = m[2];
  if (rest === '') throw new UnencodableJson(`${path}: "${text}" is not a Go duration`);
  while (rest !== '') {
    const part = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/.exec(rest);
    if (!part) throw new UnencodableJson(`${path}: "${text}" is not a Go duration (e.g. 1m30s)`);
    total += Number(part[1]) * DURATION_UNITS[part[2]]!;
    rest = rest.slice(part[0].length);
  }
  return Math.round(m[1] === '-' ? -total : total);
}

const OWN_JSON: Record<string, (value: unknown, path: string) => Message | undefined> = {
  [`${META}.Time`]: timestamp,
  [`${META}.MicroTime`]: timestamp,
  [`${META}.Duration`]: (v, path) => ({ duration: parseGoDuration(String(v), path) }),
  [`${META}.FieldsV1`]: (v) => (v === null || v === undefined ? undefined : { Raw: jsonBytes(v) }),
  [`${META}.GroupVersion`]: (v) => {
    const [group, version] = String(v).includes('/') ? String(v).split('/', 2) : ['', String(v)];
    return { group, version };
  },
  [`${RUNTIME}.RawExtension`]: (v) => (v === null || v === undefined ? undefined : { raw: jsonBytes(v) }),
  [`${RUNTIME}.Unknown`]: (v) => (v === null || v === undefined ? undefined : { raw: jsonBytes(v) }),
  'k8s.io.apimachinery.pkg.api.resource.Quantity': (v) => ({ string: String(v) }),
  'k8s.io.apimachinery.pkg.util.intstr.IntOrString': (v, path) => {
    if (typeof v === 'number') return { type: 0, intVal: v };
    if (typeof v === 'string') return { type: 1, strVal: v };
    throw new UnencodableJson(`${path}: expected a number or a string, not ${JSON.stringify(v)}`);
  },
};

/** The message of `type` for the JSON `value` (undefined: nothing to send, e.g. a null time). */
export function jsonToMessage(type: protobuf.Type, value: unknown, goTypesOf: GoTypesOf, path = type.name): Message | undefined {
  const fullName = type.fullName.slice(1);
  const own = OWN_JSON[fullName];
  if (own) return own(value, path);
  if (value === null || value === undefined) return undefined;
  const go = goTypesOf(type);
  if (go.sliceTypes.has(type.name)) {
    if (!Array.isArray(value)) throw new UnencodableJson(`${path}: expected a list, not ${JSON.stringify(value)}`);
    return { items: value.map((v, i) => elementMessage(type.fields.items!, v, goTypesOf, `${path}[${i}]`)) };
  }
  if (typeof value !== 'object' || Array.isArray(value)) throw new UnencodableJson(`${path}: expected an object, not ${JSON.stringify(value)}`);
  const json = value as Record<string, unknown>;
  const struct = go.structs.get(type.name);
  if (!struct) throw new Error(`${fullName} has no Go struct of that name in its package`);
  const out: Message = {};
  for (const field of type.fieldsArray) {
    const goField = struct.get(field.name);
    if (!goField || goField.jsonName === '-') continue;
    const fieldValue = goField.inline ? json : json[goField.jsonName];
    const fieldPath = goField.inline ? path : `${path}.${goField.jsonName}`;
    if (fieldValue === undefined || fieldValue === null) continue;
    if (field.map) {
      const entries = Object.entries(fieldValue as Record<string, unknown>);
      if (entries.length > 0) out[field.name] = Object.fromEntries(entries.map(([k, v]) => [k, elementMessage(field, v, goTypesOf, `${fieldPath}.${k}`)]));
    } else if (field.repeated) {
      if (!Array.isArray(fieldValue)) throw new UnencodableJson(`${fieldPath}: expected a list, not ${JSON.stringify(fieldValue)}`);
      out[field.name] = fieldValue.map((v, i) => elementMessage(field, v, goTypesOf, `${fieldPath}[${i}]`));
    } else {
      const message = elementMessage(field, fieldValue, goTypesOf, fieldPath);
      if (message !== undefined) out[field.name] = message;
    }
  }
  return out;
}

function elementMessage(field: protobuf.Field, value: unknown, goTypesOf: GoTypesOf, path: string): unknown {
  const type = field.resolvedType;
  if (type instanceof protobuf.Type) return jsonToMessage(type, value, goTypesOf, path) ?? {};
  if (field.type === 'bytes') return Buffer.from(String(value), 'base64');
  if (field.type === 'string') return String(value);
  if (field.type === 'bool') return Boolean(value);
  if (typeof value !== 'number' && typeof value !== 'string') throw new UnencodableJson(`${path}: expected a number, not ${JSON.stringify(value)}`);
  return Number(value);
}
