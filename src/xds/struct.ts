// Plain JSON -> google.protobuf.Value / Struct in proto form (what node metadata and filter metadata
// carry on the wire). The reverse is structToPlain in status.ts.

/** A plain JSON value as google.protobuf.Value ({string_value}, {struct_value: {fields}}, ...). */
export function plainToValue(value: unknown): Record<string, unknown> {
  if (value === null || value === undefined) return { null_value: 'NULL_VALUE' };
  if (typeof value === 'string') return { string_value: value };
  if (typeof value === 'number') return { number_value: value };
  if (typeof value === 'boolean') return { bool_value: value };
  if (Array.isArray(value)) return { list_value: { values: value.map(plainToValue) } };
  if (typeof value === 'object') return { struct_value: plainToStruct(value as Record<string, unknown>) };
  throw new Error(`cannot encode ${typeof value} as a google.protobuf.Value`);
}

/** A plain JSON object as google.protobuf.Struct; undefined fields are left out, as JSON leaves them. */
export function plainToStruct(object: Readonly<Record<string, unknown>>): { fields: Record<string, unknown> } {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(object)) if (v !== undefined) fields[k] = plainToValue(v);
  return { fields };
}
