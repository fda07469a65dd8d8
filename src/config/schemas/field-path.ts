// Field paths as the apiserver writes them: `spec.http[0].route[0].weight`, map keys that are not plain
// identifiers in brackets (`metadata.labels[app.kubernetes.io/name]`), as Go's field.Path renders keys.

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** Appends a property name to a field path. */
export function childPath(parent: string, key: string): string {
  if (!PLAIN_KEY.test(key)) return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

function decodePointerToken(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

/**
 * Turns a JSON pointer (`/spec/http/0/route`) into a field path, reading `root` to tell array indices
 * from object keys that merely look numeric.
 */
export function pointerToFieldPath(pointer: string, root: unknown, prefix = ''): string {
  if (pointer === '') return prefix;
  let path = prefix;
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const token = decodePointerToken(raw);
    if (Array.isArray(node)) {
      const index = Number(token);
      path = indexPath(path, index);
      node = node[index];
    } else {
      path = childPath(path, token);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[token] : undefined;
    }
  }
  return path;
}

/** The value a JSON pointer designates, or undefined. */
export function valueAtPointer(pointer: string, root: unknown): unknown {
  if (pointer === '') return root;
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    if (node === null || typeof node !== 'object') return undefined;
    const token = decodePointerToken(raw);
    node = Array.isArray(node) ? node[Number(token)] : (node as Record<string, unknown>)[token];
  }
  return node;
}
