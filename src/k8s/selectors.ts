// Kubernetes label and field selectors: the string forms used in `?labelSelector=` / `?fieldSelector=`
// (and so by list/watch), and the structured LabelSelector that Deployments and ReplicaSets carry.
// Semantics follow k8s.io/apimachinery: `key!=v` and `key notin (...)` also match objects without the
// key; a missing field reads as ''; an empty selector matches everything.
import { badRequest } from './status.js';

export type LabelOperator = 'exists' | 'doesNotExist' | 'equals' | 'notEquals' | 'in' | 'notIn' | 'greaterThan' | 'lessThan';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  /** One value for equals/notEquals/greaterThan/lessThan, the set for in/notIn, none for exists/doesNotExist. */
  values: string[];
}

export type FieldOperator = 'equals' | 'notEquals';

export interface FieldRequirement {
  /** Dotted path into the object: `metadata.name`, `spec.nodeName`, `status.phase`. */
  field: string;
  operator: FieldOperator;
  value: string;
}

/** The structured selector of Deployment/ReplicaSet/Service-like specs (metav1.LabelSelector). */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export type Labels = Readonly<Record<string, string>> | undefined;

// ---------------------------------------------------------------------------------------------------
// Label selector strings

const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `key` is not a valid label key, or undefined when it is. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (prefix.length === 0) return `key "${key}": prefix part must be non-empty`;
    if (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) {
      return `key "${key}": prefix part must be a lowercase RFC 1123 subdomain (e.g. 'example.com')`;
    }
  }
  if (name.length === 0) return `key "${key}": name part must be non-empty`;
  if (name.length > 63) return `key "${key}": name part must be no more than 63 characters`;
  if (!QUALIFIED_NAME_PART.test(name)) {
    return `key "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`;
  }
  return undefined;
}

/** Why `value` is not a valid label value, or undefined when it is. */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63) return `value "${value}": must be no more than 63 characters`;
  if (!QUALIFIED_NAME_PART.test(value)) {
    return `value "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`;
  }
  return undefined;
}

type Token =
  | { kind: 'identifier'; text: string; at: number }
  | { kind: '!' | '=' | '==' | '!=' | '(' | ')' | ',' | '<' | '>' | 'end'; text: string; at: number };

const SPECIAL = new Set(['!', '=', '(', ')', ',', '<', '>']);

function tokenizeLabelSelector(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (SPECIAL.has(c)) {
      const two = text.slice(i, i + 2);
      if (two === '==' || two === '!=') {
        tokens.push({ kind: two, text: two, at: i });
        i += 2;
      } else {
        tokens.push({ kind: c as '!' | '=' | '(' | ')' | ',' | '<' | '>', text: c, at: i });
        i++;
      }
      continue;
    }
    const start = i;
    while (i < text.length && !SPECIAL.has(text[i]!) && !/\s/.test(text[i]!)) i++;
    tokens.push({ kind: 'identifier', text: text.slice(start, i), at: start });
  }
  tokens.push({ kind: 'end', text: '', at: text.length });
  return tokens;
}

class LabelSelectorParser {
  private pos = 0;
  constructor(
    private readonly source: string,
    private readonly tokens: Token[],
  ) {}

  private fail(problem: string): never {
    throw badRequest(`unable to parse label selector "${this.source}": ${problem}`);
  }

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    const t = this.tokens[this.pos]!;
    if (t.kind !== 'end') this.pos++;
    return t;
  }

  private describe(t: Token): string {
    return t.kind === 'end' ? 'end of selector' : `'${t.text}' at position ${t.at}`;
  }

  parse(): LabelRequirement[] {
    const out: LabelRequirement[] = [];
    if (this.peek().kind === 'end') return out;
    for (;;) {
      out.push(this.requirement());
      const t = this.next();
      if (t.kind === 'end') return out;
      if (t.kind !== ',') this.fail(`found ${this.describe(t)}, expected ',' or end of selector`);
    }
  }

  private key(): string {
    const t = this.next();
    if (t.kind !== 'identifier') this.fail(`found ${this.describe(t)}, expected a label key`);
    const problem = labelKeyProblem(t.text);
    if (problem) this.fail(problem);
    return t.text;
  }

  private value(): string {
    const t = this.peek();
    // `key=` with nothing after selects the empty value, as in Kubernetes.
    if (t.kind === ',' || t.kind === 'end' || t.kind === ')') return '';
    this.next();
    if (t.kind !== 'identifier') this.fail(`found ${this.describe(t)}, expected a label value`);
    const problem = labelValueProblem(t.text);
    if (problem) this.fail(problem);
    return t.text;
  }

  private requirement(): LabelRequirement {
    if (this.peek().kind === '!') {
      this.next();
      return { key: this.key(), operator: 'doesNotExist', values: [] };
    }
    const key = this.key();
    const op = this.peek();
    if (op.kind === ',' || op.kind === 'end') return { key, operator: 'exists', values: [] };
    this.next();
    switch (op.kind) {
      case '=':
      case '==':
        return { key, operator: 'equals', values: [this.value()] };
      case '!=':
        return { key, operator: 'notEquals', values: [this.value()] };
      case '<':
      case '>': {
        const v = this.next();
        if (v.kind !== 'identifier' || !/^-?\d+$/.test(v.text)) this.fail(`for '${op.text}' operator, the value must be an integer, found ${this.describe(v)}`);
        return { key, operator: op.kind === '<' ? 'lessThan' : 'greaterThan', values: [v.text] };
      }
      case 'identifier':
        if (op.text === 'in' || op.text === 'notin') return { key, operator: op.text === 'in' ? 'in' : 'notIn', values: this.valueSet() };
        break;
      default:
        break;
    }
    return this.fail(`found ${this.describe(op)}, expected one of '=', '==', '!=', 'in', 'notin', '<', '>' after key "${key}"`);
  }

  private valueSet(): string[] {
    const open = this.next();
    if (open.kind !== '(') this.fail(`found ${this.describe(open)}, expected '('`);
    const values: string[] = [];
    for (;;) {
      values.push(this.value());
      const t = this.next();
      if (t.kind === ')') break;
      if (t.kind !== ',') this.fail(`found ${this.describe(t)}, expected ',' or ')'`);
    }
    return values;
  }
}

/** Parses `app=x,version in (v1,v2),!canary`. Bad syntax: a 400 StatusError naming the selector. */
export function parseLabelSelector(text: string): LabelRequirement[] {
  return new LabelSelectorParser(text, tokenizeLabelSelector(text)).parse();
}

function matchRequirement(req: LabelRequirement, labels: Labels): boolean {
  const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, req.key);
  const value = has ? labels[req.key] : undefined;
  switch (req.operator) {
    case 'exists':
      return has;
    case 'doesNotExist':
      return !has;
    case 'equals':
    case 'in':
      return has && req.values.includes(value!);
    case 'notEquals':
    case 'notIn':
      return !has || !req.values.includes(value!);
    case 'greaterThan':
    case 'lessThan': {
      if (!has || !/^-?\d+$/.test(value!)) return false;
      const n = Number(value);
      const bound = Number(req.values[0]);
      return req.operator === 'greaterThan' ? n > bound : n < bound;
    }
  }
}

export function matchLabelRequirements(reqs: readonly LabelRequirement[], labels: Labels): boolean {
  return reqs.every((r) => matchRequirement(r, labels));
}

/** Parses once and returns a predicate over an object's labels. */
export function compileLabelSelector(text: string): (labels: Labels) => boolean {
  const reqs = parseLabelSelector(text);
  return (labels) => matchLabelRequirements(reqs, labels);
}

// ---------------------------------------------------------------------------------------------------
// Field selector strings

/** Splits on commas that are not escaped with a backslash. */
function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[i + 1];
      i++;
    } else if (c === separator) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

function unescapeFieldValue(selector: string, raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const escaped = raw[i + 1];
    if (escaped !== '\\' && escaped !== ',' && escaped !== '=') {
      throw badRequest(`unable to parse field selector "${selector}": invalid escape sequence in value "${raw}"`);
    }
    out += escaped;
    i++;
  }
  return out;
}

/** Parses `metadata.name=x,status.phase!=Running`. Bad syntax: a 400 StatusError naming the selector. */
export function parseFieldSelector(text: string): FieldRequirement[] {
  if (text.trim() === '') return [];
  return splitUnescaped(text, ',').map((term) => {
    // The first operator occurring in the term wins, the longer one when two start at the same place.
    for (let i = 0; i < term.length; i++) {
      if (term[i - 1] === '\\') continue;
      for (const op of ['!=', '==', '='] as const) {
        if (!term.startsWith(op, i)) continue;
        const field = term.slice(0, i).trim();
        if (field === '') throw badRequest(`unable to parse field selector "${text}": missing field name in '${term}'`);
        return { field, operator: op === '!=' ? 'notEquals' : 'equals', value: unescapeFieldValue(text, term.slice(i + op.length).trim()) };
      }
    }
    throw badRequest(`unable to parse field selector "${text}": invalid selector: '${term}'; can't understand '${term}' (expected field=value, field==value or field!=value)`);
  });
}

/** The string value of a dotted path in an object; '' when any step is missing or not a scalar. */
export function fieldValue(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const step of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return '';
    cur = (cur as Record<string, unknown>)[step];
  }
  if (typeof cur === 'string') return cur;
  if (typeof cur === 'number' || typeof cur === 'boolean') return String(cur);
  return '';
}

export function matchFieldRequirements(reqs: readonly FieldRequirement[], obj: unknown): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field) === r.value) === (r.operator === 'equals'));
}

export function compileFieldSelector(text: string): (obj: unknown) => boolean {
  const reqs = parseFieldSelector(text);
  return (obj) => matchFieldRequirements(reqs, obj);
}

// ---------------------------------------------------------------------------------------------------
// Structured LabelSelector (Deployment/ReplicaSet spec.selector)

/**
 * Whether labels satisfy a structured selector: every matchLabels pair and every expression.
 * An empty selector ({}) matches everything, as metav1.LabelSelectorAsSelector does; callers that treat
 * a missing selector as "nothing" must check for undefined themselves.
 */
export function matchLabelSelector(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels?.[key] !== value) return false;
  }
  for (const expr of selector.matchExpressions ?? []) {
    const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, expr.key);
    const values = expr.values ?? [];
    switch (expr.operator) {
      case 'In':
        if (!has || !values.includes(labels[expr.key]!)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[expr.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        throw badRequest(`"${String((expr as { operator: unknown }).operator)}" is not a valid label selector operator (In, NotIn, Exists, DoesNotExist)`);
    }
  }
  return true;
}

/** The string form of a structured selector, for `list({labelSelector})`: `app=x,tier in (a,b)`. */
export function formatLabelSelector(selector: LabelSelector): string {
  const parts = Object.keys(selector.matchLabels ?? {})
    .sort()
    .map((key) => `${key}=${selector.matchLabels![key]}`);
  for (const expr of selector.matchExpressions ?? []) {
    const values = [...(expr.values ?? [])].sort().join(',');
    switch (expr.operator) {
      case 'In':
        parts.push(`${expr.key} in (${values})`);
        break;
      case 'NotIn':
        parts.push(`${expr.key} notin (${values})`);
        break;
      case 'Exists':
        parts.push(expr.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${expr.key}`);
        break;
      default:
        throw badRequest(`"${String((expr as { operator: unknown }).operator)}" is not a valid label selector operator (In, NotIn, Exists, DoesNotExist)`);
    }
  }
  return parts.join(',');
}
