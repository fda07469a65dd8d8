// Sets of field paths, as server-side apply tracks ownership (structured-merge-diff's fieldpath.Set),
// and their wire form in `metadata.managedFields[].fieldsV1`:
//   f:spec            a field of a struct or a key of a map
//   k:{"name":"x"}    the item of an associative list whose key fields have these values (sorted by name)
//   v:"x"             the item of a set
//   i:0               the item at an index (lists that are neither: not produced here, but read)
//   .: {}             the path that leads here is itself in the set, besides paths below it
import { isJsonObject } from '../../k8s/patch/json.js';
import type { JsonObject, JsonValue } from '../../k8s/patch/json.js';

export type PathElement =
  | { readonly field: string }
  | { readonly key: ReadonlyArray<readonly [string, JsonValue]> }
  | { readonly value: JsonValue }
  | { readonly index: number };

export type FieldPath = readonly PathElement[];

export function fieldElement(name: string): PathElement {
  return { field: name };
}

/** An associative-list item's element: its key fields sorted by name, as Kubernetes sorts them. */
export function keyElement(keys: Iterable<readonly [string, JsonValue]>): PathElement {
  return { key: [...keys].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) };
}

/** The element's token in fieldsV1: `f:name`, `k:{"name":"x"}`, `v:"x"`, `i:0`. */
export function elementToken(pe: PathElement): string {
  if ('field' in pe) return `f:${pe.field}`;
  if ('key' in pe) return `k:{${pe.key.map(([name, v]) => `${JSON.stringify(name)}:${JSON.stringify(v)}`).join(',')}}`;
  if ('value' in pe) return `v:${JSON.stringify(pe.value)}`;
  return `i:${pe.index}`;
}

export function parseElementToken(token: string): PathElement {
  const kind = token.slice(0, 2);
  const rest = token.slice(2);
  switch (kind) {
    case 'f:':
      return { field: rest };
    case 'k:': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(rest);
      } catch {
        throw new Error(`invalid key element ${JSON.stringify(token)}: not a JSON object`);
      }
      if (!isJsonObject(parsed as JsonValue)) throw new Error(`invalid key element ${JSON.stringify(token)}: not a JSON object`);
      return keyElement(Object.entries(parsed as JsonObject));
    }
    case 'v:':
      try {
        return { value: JSON.parse(rest) as JsonValue };
      } catch {
        throw new Error(`invalid value element ${JSON.stringify(token)}: not a JSON value`);
      }
    case 'i:': {
      const index = Number(rest);
      if (!Number.isInteger(index) || index < 0) throw new Error(`invalid index element ${JSON.stringify(token)}`);
      return { index };
    }
    default:
      throw new Error(`invalid path element ${JSON.stringify(token)}: expected a prefix f:, k:, v: or i:`);
  }
}

/** A value as Kubernetes prints it inside a path: strings quoted, numbers and booleans bare. */
function valueText(v: JsonValue): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(valueText).join(',')}]`;
  if (typeof v === 'object') return Object.entries(v).map(([k, x]) => `${k}=${valueText(x)}`).join('');
  return String(v);
}

/** The path as conflicts name it: `.spec.template.spec.containers[name="nginx"].image`. */
export function pathText(path: FieldPath): string {
  return path
    .map((pe) => {
      if ('field' in pe) return `.${pe.field}`;
      if ('key' in pe) return `[${pe.key.map(([k, v]) => `${k}=${valueText(v)}`).join(',')}]`;
      if ('value' in pe) return `[=${valueText(pe.value)}]`;
      return `[${pe.index}]`;
    })
    .join('');
}

const KIND_ORDER = { field: 0, key: 1, value: 2, index: 3 } as const;

function kindOf(pe: PathElement): keyof typeof KIND_ORDER {
  return 'field' in pe ? 'field' : 'key' in pe ? 'key' : 'value' in pe ? 'value' : 'index';
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareValues(a: JsonValue, b: JsonValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  return compareStrings(JSON.stringify(a), JSON.stringify(b));
}

/** The order fieldsV1 lists elements in: fields by name, then keyed items, then set values, then indexes. */
function compareElements(a: PathElement, b: PathElement): number {
  const byKind = KIND_ORDER[kindOf(a)] - KIND_ORDER[kindOf(b)];
  if (byKind !== 0) return byKind;
  if ('field' in a && 'field' in b) return compareStrings(a.field, b.field);
  if ('key' in a && 'key' in b) {
    for (let i = 0; i < Math.min(a.key.length, b.key.length); i++) {
      const byName = compareStrings(a.key[i]![0], b.key[i]![0]);
      if (byName !== 0) return byName;
      const byValue = compareValues(a.key[i]![1], b.key[i]![1]);
      if (byValue !== 0) return byValue;
    }
    return a.key.length - b.key.length;
  }
  if ('value' in a && 'value' in b) return compareValues(a.value, b.value);
  if ('index' in a && 'index' in b) return a.index - b.index;
  return 0;
}

interface SetNode {
  readonly element: PathElement;
  /** The path to this node is itself in the set. */
  member: boolean;
  children?: FieldSet;
}

/** A set of field paths, stored as a trie keyed by element tokens. Immutable operations return new sets. */
export class FieldSet {
  private readonly nodes = new Map<string, SetNode>();

  static of(...paths: FieldPath[]): FieldSet {
    const set = new FieldSet();
    for (const p of paths) set.insert(p);
    return set;
  }

  isEmpty(): boolean {
    return this.nodes.size === 0;
  }

  insert(path: FieldPath): void {
    let set: FieldSet = this;
    for (let i = 0; i < path.length; i++) {
      const pe = path[i]!;
      const token = elementToken(pe);
      let node = set.nodes.get(token);
      if (!node) {
        node = { element: pe, member: false };
        set.nodes.set(token, node);
      }
      if (i === path.length - 1) node.member = true;
      else set = node.children ??= new FieldSet();
    }
  }

  private nodeAt(path: FieldPath): SetNode | undefined {
    let set: FieldSet | undefined = this;
    let node: SetNode | undefined;
    for (const pe of path) {
      node = set?.nodes.get(elementToken(pe));
      if (!node) return undefined;
      set = node.children;
    }
    return node;
  }

  has(path: FieldPath): boolean {
    return path.length > 0 && (this.nodeAt(path)?.member ?? false);
  }

  /** Whether the set holds `path` or any path below it. */
  hasPrefix(path: FieldPath): boolean {
    return path.length === 0 ? !this.isEmpty() : this.nodeAt(path) !== undefined;
  }

  /** The paths below `pe`, relative to it. */
  below(pe: PathElement): FieldSet {
    return this.nodes.get(elementToken(pe))?.children ?? new FieldSet();
  }

  /** Every member path, in fieldsV1 order. */
  paths(): FieldPath[] {
    const out: FieldPath[] = [];
    for (const node of this.sortedNodes()) {
      if (node.member) out.push([node.element]);
      if (node.children) for (const p of node.children.paths()) out.push([node.element, ...p]);
    }
    return out;
  }

  /**
   * A new set from this one and `other`, node by node: `member` decides membership from the two
   * memberships, `descend` whether to look below a node only this set has (true) or keep it whole.
   */
  private combine(other: FieldSet, member: (mine: boolean, theirs: boolean | undefined) => boolean, onlyMine: 'keep' | 'drop', onlyTheirs: 'keep' | 'drop'): FieldSet {
    const out = new FieldSet();
    const add = (token: string, node: SetNode, isMember: boolean, children: FieldSet | undefined) => {
      if (!isMember && (!children || children.isEmpty())) return;
      out.nodes.set(token, { element: node.element, member: isMember, ...(children && !children.isEmpty() ? { children } : {}) });
    };
    for (const [token, mine] of this.nodes) {
      const theirs = other.nodes.get(token);
      if (!theirs) {
        if (onlyMine === 'keep') add(token, mine, mine.member, mine.children?.copy());
        continue;
      }
      const children = mine.children && theirs.children ? mine.children.combine(theirs.children, member, onlyMine, onlyTheirs) : onlyMine === 'keep' && mine.children ? mine.children.copy() : onlyTheirs === 'keep' && theirs.children ? theirs.children.copy() : undefined;
      add(token, mine, member(mine.member, theirs.member), children);
    }
    if (onlyTheirs === 'keep') {
      for (const [token, theirs] of other.nodes) if (!this.nodes.has(token)) add(token, theirs, theirs.member, theirs.children?.copy());
    }
    return out;
  }

  union(other: FieldSet): FieldSet {
    return this.combine(other, (a, b) => a || b === true, 'keep', 'keep');
  }

  /** Members of this set that `other` does not hold (exact paths). */
  difference(other: FieldSet): FieldSet {
    return this.combine(other, (a, b) => a && b !== true, 'keep', 'drop');
  }

  intersection(other: FieldSet): FieldSet {
    return this.combine(other, (a, b) => a && b === true, 'drop', 'drop');
  }

  /** Members of this set that are neither in `other` nor below a member of `other`. */
  recursiveDifference(other: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [token, mine] of this.nodes) {
      const theirs = other.nodes.get(token);
      if (theirs?.member) continue;
      const children = theirs?.children && mine.children ? mine.children.recursiveDifference(theirs.children) : mine.children?.copy();
      if (!mine.member && (!children || children.isEmpty())) continue;
      out.nodes.set(token, { element: mine.element, member: mine.member, ...(children && !children.isEmpty() ? { children } : {}) });
    }
    return out;
  }

  copy(): FieldSet {
    const out = new FieldSet();
    for (const [token, node] of this.nodes) out.nodes.set(token, { element: node.element, member: node.member, ...(node.children ? { children: node.children.copy() } : {}) });
    return out;
  }

  private sortedNodes(): SetNode[] {
    return [...this.nodes.values()].sort((a, b) => compareElements(a.element, b.element));
  }

  /** The fieldsV1 object: `{"f:spec":{"f:replicas":{}}}`. */
  toFieldsV1(): JsonObject {
    const out: JsonObject = {};
    for (const node of this.sortedNodes()) {
      const token = elementToken(node.element);
      if (!node.children || node.children.isEmpty()) {
        out[token] = {};
        continue;
      }
      const inner: JsonObject = node.member ? { '.': {} } : {};
      Object.assign(inner, node.children.toFieldsV1());
      out[token] = inner;
    }
    return out;
  }

  /** Reads fieldsV1; throws an Error naming the bad element. */
  static fromFieldsV1(json: JsonValue): FieldSet {
    if (!isJsonObject(json)) throw new Error('fieldsV1 must be a JSON object');
    const set = new FieldSet();
    const read = (obj: JsonObject, prefix: PathElement[]): void => {
      for (const [token, inner] of Object.entries(obj)) {
        if (token === '.') {
          if (prefix.length === 0) throw new Error('fieldsV1: "." at the top level');
          set.insert(prefix);
          continue;
        }
        if (!isJsonObject(inner)) throw new Error(`fieldsV1: the value of ${JSON.stringify(token)} must be an object`);
        const path = [...prefix, parseElementToken(token)];
        if (Object.keys(inner).length === 0) set.insert(path);
        else read(inner, path);
      }
    };
    read(json, []);
    return set;
  }
}
