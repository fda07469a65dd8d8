// FieldCause constructors whose messages read as the apiserver's field.Error bodies
// (k8s.io/apimachinery/pkg/util/validation/field), so users recognise them from kubectl.
import type { FieldCause } from '../../k8s/status.js';

/** Renders a bad value as Go's field.Error does: strings %q, numbers and booleans %v, maps %#v. */
export function goValue(value: unknown): string {
  if (value === null || value === undefined) return '"null"';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[]interface {}{${value.map(goValue).join(', ')}}`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (entries.every(([, v]) => typeof v === 'string')) {
      return `map[string]string{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(', ')}}`;
    }
    return `map[string]interface {}{${entries.map(([k, v]) => `${JSON.stringify(k)}:${goValue(v)}`).join(', ')}}`;
  }
  return JSON.stringify(String(value));
}

function withDetail(body: string, detail?: string): string {
  return detail ? `${body}: ${detail}` : body;
}

export function required(field: string, detail?: string): FieldCause {
  return { reason: 'FieldValueRequired', field, message: withDetail('Required value', detail) };
}

export function invalid(field: string, value: unknown, detail: string): FieldCause {
  return { reason: 'FieldValueInvalid', field, message: withDetail(`Invalid value: ${goValue(value)}`, detail) };
}

/** A value of the wrong JSON type: `Invalid value: "string": f in body must be of type integer: "string"`. */
export function typeInvalid(field: string, actualType: string, expected: string): FieldCause {
  const quoted = JSON.stringify(actualType);
  return {
    reason: 'FieldValueTypeInvalid',
    field,
    message: `Invalid value: ${quoted}: ${field} in body must be of type ${expected}: ${quoted}`,
  };
}

export function notSupported(field: string, value: unknown, supported: readonly unknown[]): FieldCause {
  const list = supported.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v))).join(', ');
  return { reason: 'FieldValueNotSupported', field, message: `Unsupported value: ${goValue(value)}: supported values: ${list}` };
}

export function duplicate(field: string, value: unknown): FieldCause {
  return { reason: 'FieldValueDuplicate', field, message: `Duplicate value: ${goValue(value)}` };
}

export function tooLong(field: string, max: number): FieldCause {
  return { reason: 'FieldValueTooLong', field, message: `Too long: may not be more than ${max} bytes` };
}

export function forbidden(field: string, detail: string): FieldCause {
  return { reason: 'FieldValueForbidden', field, message: withDetail('Forbidden', detail) };
}

/** A field the schema does not declare; the path starts without a dot, as kubectl's strict decoding prints it. */
export function unknownField(field: string): FieldCause {
  return { reason: 'FieldValueUnknown', field, message: `unknown field ${JSON.stringify(field)}` };
}

/** The JSON type name the apiserver's OpenAPI validator reports for a value. */
export function jsonTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}
