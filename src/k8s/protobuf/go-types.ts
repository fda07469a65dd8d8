// What the Go sources of a Kubernetes API package say about JSON that its generated.proto does not:
// each struct field's JSON name, omitempty and inlining (the `json` tag, matched to the message field by
// the `protobuf` tag's name), whether it is a pointer (Go's protobuf encoding writes a value field even
// when it is empty, a pointer field only when set), which types are slices (a message wrapping
// `items`), which types marshal JSON themselves, and the package's group and version. Pure: text in.

export interface GoField {
  goName: string;
  /** The key in JSON; '' for an embedded struct whose fields are inlined. */
  jsonName: string;
  omitempty: boolean;
  /** An embedded struct without a JSON name: its fields appear in the parent object. */
  inline: boolean;
  pointer: boolean;
}

export interface GoPackageTypes {
  /** From register.go: `GroupName` and SchemeGroupVersion's Version; absent in packages without kinds. */
  groupVersion?: { group: string; version: string };
  /** Struct name -> its fields that have a protobuf tag, by protobuf field name. */
  structs: Map<string, Map<string, GoField>>;
  /** `type Verbs []string`: encoded in protobuf as a message with `repeated items`. */
  sliceTypes: Set<string>;
  /** Types with a MarshalJSON method: their JSON is not their fields. */
  jsonMarshalers: Set<string>;
}

const STRUCT = /^type (\w+) struct \{\n([\s\S]*?)^\}/gm;
const SLICE_TYPE = /^type (\w+) \[\]/gm;
const MARSHAL_JSON = /^func \(\w+ \*?(\w+)\) MarshalJSON\(\)/gm;
const TAG_PAIR = /(\w+):"((?:[^"\\]|\\.)*)"/g;

/** Reads the types of one Go package from the text of its files. */
export function parseGoPackage(files: readonly string[]): GoPackageTypes {
  const out: GoPackageTypes = { structs: new Map(), sliceTypes: new Set(), jsonMarshalers: new Set() };
  for (const text of files) {
    for (const m of text.matchAll(STRUCT)) out.structs.set(m[1], parseStructBody(m[2]));
    for (const m of text.matchAll(SLICE_TYPE)) out.sliceTypes.add(m[1]);
    for (const m of text.matchAll(MARSHAL_JSON)) out.jsonMarshalers.add(m[1]);
    const group = /^const GroupName = "([^"]*)"/m.exec(text);
    const version = /^var SchemeGroupVersion = schema\.GroupVersion\{Group: GroupName, Version: "([^"]+)"\}/m.exec(text);
    if (group && version) out.groupVersion = { group: group[1], version: version[1] };
  }
  return out;
}

function parseStructBody(body: string): Map<string, GoField> {
  const fields = new Map<string, GoField>();
  // Fields of a nested anonymous struct are not the outer struct's.
  let depth = 0;
  for (const rawLine of body.split('\n')) {
    const line = rawLine.trim();
    if (line.startsWith('//')) continue;
    if (line.startsWith('}')) depth--;
    const nested = depth > 0;
    if (line.endsWith('{')) depth++;
    const tick = line.indexOf('`');
    if (nested || tick < 0) continue;
    const tags = structTags(line.slice(tick + 1, line.lastIndexOf('`')));
    const protobufTag = tags.get('protobuf');
    if (protobufTag === undefined) continue;
    const head = line.slice(0, tick).trim().split(/\s+/);
    // `ProbeHandler `json:",inline"`` embeds; `Name string `json:"name"`` names.
    const embedded = head.length === 1;
    const type = embedded ? head[0] : head.slice(1).join(' ');
    const goName = embedded ? type.replace(/^\*/, '').replace(/^.*\./, '') : head[0];
    // Without name=, go-to-protobuf names the field after the Go field (EphemeralContainerCommon).
    const protoName = protobufTag.split(',').find((p) => p.startsWith('name='))?.slice('name='.length) ?? goName[0].toLowerCase() + goName.slice(1);
    const [name, ...options] = (tags.get('json') ?? '').split(',');
    const inline = embedded && name === '';
    fields.set(protoName, {
      goName,
      // encoding/json: no name in the tag means the Go name; '-' means never encoded.
      jsonName: inline ? '' : name === '' ? goName : name,
      omitempty: options.includes('omitempty'),
      inline,
      pointer: type.startsWith('*'),
    });
  }
  return fields;
}

function structTags(text: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const m of text.matchAll(TAG_PAIR)) tags.set(m[1], m[2]);
  return tags;
}
