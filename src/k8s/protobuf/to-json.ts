// A decoded Kubernetes protobuf message as the JSON Go's encoding/json gives for the same object, so a
// body kubectl sent as protobuf reads exactly like the JSON it sends for `-o json`:
// - keys are the Go fields' JSON names (usually the proto names, not always: `uID` is "uid"), embedded
//   structs are inlined (Volume's volumeSource, Probe's handler);
// - Go's protobuf encoding writes every value (non-pointer) field, even empty: an empty string, zero or
//   false of an omitempty field is dropped, as encoding/json does; a pointer field is there when sent;
//   an empty list or map is dropped when omitempty, else null (Go's nil slice);
// - the types with their own MarshalJSON: metav1.Time (RFC 3339, null when zero), MicroTime,
//   Duration ("1m30s"), resource.Quantity (its string), IntOrString (number or string),
//   RawExtension / FieldsV1 / runtime.Unknown (the JSON they carry), GroupVersion ("group/version");
// - int64 as a number, bytes as base64 (Secret.data).
import protobuf from 'protobufjs';
import { goDuration, rfc3339, rfc3339Micro } from '../time-format.js';
import type { GoField, GoPackageTypes } from './go-types.js';

/** The Go package types a message's package declares. */
export type GoTypesOf = (type: protobuf.Type) => GoPackageTypes;

type Message = Record<string, unknown>;

/** A body that decoded as protobuf but cannot be JSON (a RawExtension that holds no JSON). */
export class UnreadableBody extends Error {}

const META = 'k8s.io.apimachinery.pkg.apis.meta.v1';
const RUNTIME = 'k8s.io.apimachinery.pkg.runtime';

/** Messages whose JSON is not their fields, by full name: Go gives them a MarshalJSON method. */
const OWN_JSON: Record<string, (m: Message) => unknown> = {
  [`${META}.Time`]: (m) => (has(m, 'seconds') || has(m, 'nanos') ? rfc3339(toNumber(m.seconds ?? 0) * 1000) : null),
  [`${META}.MicroTime`]: (m) => (has(m, 'seconds') || has(m, 'nanos') ? rfc3339Micro(toNumber(m.seconds ?? 0), toNumber(m.nanos ?? 0)) : null),
  [`${META}.Duration`]: (m) => goDuration(BigInt(String(m.duration ?? 0))),
  [`${META}.FieldsV1`]: (m) => carriedJson(m.Raw, 'FieldsV1'),
  [`${META}.GroupVersion`]: (m) => (m.group ? `${String(m.group)}/${String(m.version ?? '')}` : String(m.version ?? '')),
  [`${RUNTIME}.RawExtension`]: (m) => carriedJson(m.raw, 'RawExtension'),
  [`${RUNTIME}.Unknown`]: (m) => carriedJson(m.raw, 'Unknown'),
  'k8s.io.apimachinery.pkg.api.resource.Quantity': (m) => (has(m, 'string') ? String(m.string) : '0'),
  'k8s.io.apimachinery.pkg.util.intstr.IntOrString': (m) => (toNumber(m.type ?? 0) === 1 ? String(m.strVal ?? '') : toNumber(m.intVal ?? 0)),
};

/** Full names of the messages converted by their own JSON rules; every Go MarshalJSON type must be one. */
export const OWN_JSON_MESSAGES: ReadonlySet<string> = new Set(Object.keys(OWN_JSON));

/** The JSON of one decoded message of `type`. */
export function messageToJson(type: protobuf.Type, message: Message, goTypesOf: GoTypesOf): unknown {
  const fullName = type.fullName.slice(1);
  const own = OWN_JSON[fullName];
  if (own) return own(message);
  const go = goTypesOf(type);
  if (go.jsonMarshalers.has(type.name)) throw new Error(`${fullName} marshals its own JSON in Go, and no conversion for it is written here`);
  if (go.sliceTypes.has(type.name)) {
    const items = message.items as unknown[] | undefined;
    return items && items.length > 0 ? items.map((v) => elementJson(type.fields.items, v, goTypesOf)) : null;
  }
  const struct = go.structs.get(type.name);
  if (!struct) throw new Error(`${fullName} has no Go struct of that name in its package`);
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const goField = struct.get(field.name);
    if (!goField) throw new Error(`${fullName}.${field.name} has no Go field with that protobuf name`);
    if (goField.jsonName === '-') continue;
    const value = fieldJson(field, goField, message, goTypesOf);
    if (goField.inline) {
      if (value !== null && typeof value === 'object') Object.assign(out, value);
    } else if (value !== undefined) {
      out[goField.jsonName] = value;
    }
  }
  return out;
}

/** A field's JSON value, or undefined when encoding/json leaves the key out. */
function fieldJson(field: protobuf.Field, go: GoField, message: Message, goTypesOf: GoTypesOf): unknown {
  const present = has(message, field.name);
  const value = message[field.name];
  const absent = go.omitempty ? undefined : null;
  if (field.map) {
    const entries = Object.entries((value ?? {}) as Record<string, unknown>);
    return entries.length === 0 ? absent : Object.fromEntries(entries.map(([k, v]) => [k, elementJson(field, v, goTypesOf)]));
  }
  if (field.repeated) {
    const items = (value ?? []) as unknown[];
    return items.length === 0 ? absent : items.map((v) => elementJson(field, v, goTypesOf));
  }
  if (go.pointer && !present) return absent;
  const type = field.resolvedType;
  if (type instanceof protobuf.Type) {
    // A value struct is always there in Go, empty when not sent.
    const json = messageToJson(type, (present ? value : {}) as Message, goTypesOf);
    // Only a slice type can be empty for omitempty; a struct never is.
    return json === null && go.omitempty && goTypesOf(type).sliceTypes.has(type.name) ? undefined : json;
  }
  if (field.type === 'bytes' && !present) return absent;
  const scalar = present ? value : field.typeDefault;
  if (!go.pointer && go.omitempty && isZero(scalar)) return undefined;
  return scalarJson(field, scalar);
}

function elementJson(field: protobuf.Field, value: unknown, goTypesOf: GoTypesOf): unknown {
  const type = field.resolvedType;
  return type instanceof protobuf.Type ? messageToJson(type, value as Message, goTypesOf) : scalarJson(field, value);
}

const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

function scalarJson(field: protobuf.Field, value: unknown): unknown {
  if (field.type === 'bytes') return Buffer.from(value as Uint8Array).toString('base64');
  if (LONG_TYPES.has(field.type)) return toNumber(value);
  return value;
}

function isZero(value: unknown): boolean {
  if (value === '' || value === false || value === 0 || value === undefined || value === null) return true;
  if (value instanceof Uint8Array) return value.length === 0;
  return typeof value === 'object' && toNumber(value) === 0;
}

/** int64 values come as Long objects (protobufjs), numbers or strings. */
function toNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(String(value));
}

function has(message: Message, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(message, key);
}

/** RawExtension, FieldsV1 and Unknown hold JSON bytes (nil: null). */
function carriedJson(raw: unknown, what: string): unknown {
  if (!(raw instanceof Uint8Array)) return null;
  const text = Buffer.from(raw).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new UnreadableBody(`a ${what} in the protobuf body holds ${raw.length} bytes that are not JSON: send the object as JSON or YAML`);
  }
}
