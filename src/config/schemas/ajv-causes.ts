// Turns JSON-schema (ajv) errors into the causes the apiserver reports for OpenAPI validation.
import type { ErrorObject } from 'ajv';
import type { FieldCause } from '../../k8s/status.js';
import { invalid, jsonTypeName, notSupported, required, tooLong, typeInvalid } from './causes.js';
import { childPath, pointerToFieldPath, valueAtPointer } from './field-path.js';

/**
 * With allErrors, ajv reports both a failed oneOf/anyOf and every failure inside its branches; the
 * branch failures only say why each alternative did not fit, so the combinator's own error is kept.
 */
function dropBranchErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  const combinatorPaths = errors
    .filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'not')
    .map((e) => `${e.schemaPath}/`);
  return errors.filter((e) => !combinatorPaths.some((p) => e.schemaPath.startsWith(p)));
}

function numberParam(params: Record<string, unknown>, key: string): number {
  const v = params[key];
  return typeof v === 'number' ? v : Number(v);
}

function oneCause(error: ErrorObject, root: unknown, prefix: string): FieldCause {
  const field = pointerToFieldPath(error.instancePath, root, prefix);
  const value = valueAtPointer(error.instancePath, root);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return required(childPath(field, String(params.missingProperty)));
    case 'type':
      return typeInvalid(field, jsonTypeName(value), String(params.type));
    case 'enum': {
      const allowed = Array.isArray(params.allowedValues) ? params.allowedValues : [];
      return notSupported(field, value, allowed);
    }
    case 'format':
      return invalid(field, value, `${field} in body must be of type ${String(params.format)}: ${JSON.stringify(value)}`);
    case 'pattern':
      return invalid(field, value, `${field} in body should match '${String(params.pattern)}'`);
    case 'minimum':
    case 'exclusiveMinimum':
      return invalid(field, value, `${field} in body should be greater than ${error.keyword === 'minimum' ? 'or equal to ' : ''}${numberParam(params, 'limit')}`);
    case 'maximum':
    case 'exclusiveMaximum':
      return invalid(field, value, `${field} in body should be less than ${error.keyword === 'maximum' ? 'or equal to ' : ''}${numberParam(params, 'limit')}`);
    case 'maxLength':
      return tooLong(field, numberParam(params, 'limit'));
    case 'minLength':
      return invalid(field, value, `${field} in body should be at least ${numberParam(params, 'limit')} chars long`);
    case 'minItems':
      return invalid(field, jsonTypeName(value), `${field} in body should have at least ${numberParam(params, 'limit')} items`);
    case 'maxItems':
      return { reason: 'FieldValueTooLong', field, message: `Too many: ${Array.isArray(value) ? value.length : 0}: must have at most ${numberParam(params, 'limit')} items` };
    case 'oneOf':
      return invalid(field, jsonTypeName(value), `${field} in body must validate one and only one schema (oneOf)`);
    case 'anyOf':
      return invalid(field, jsonTypeName(value), `${field} in body must validate at least one schema (anyOf)`);
    case 'not':
      return invalid(field, jsonTypeName(value), `${field} in body must not validate the schema (not)`);
    default:
      return invalid(field, jsonTypeName(value), `${field} in body ${error.message ?? `fails ${error.keyword}`}`);
  }
}

/**
 * `root` is the object the errors' instancePaths point into; `prefix` is that object's own field path
 * when it is a part of a larger object (a template validated on its own).
 */
export function ajvErrorsToCauses(errors: readonly ErrorObject[] | null | undefined, root: unknown, prefix = ''): FieldCause[] {
  if (!errors) return [];
  const causes: FieldCause[] = [];
  const seen = new Set<string>();
  for (const error of dropBranchErrors(errors)) {
    // `if` only reports that a `then`/`else` failed, and that failure is reported on its own.
    if (error.keyword === 'if') continue;
    const cause = oneCause(error, root, prefix);
    const key = `${cause.field}\u0000${cause.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      causes.push(cause);
    }
  }
  return causes;
}
