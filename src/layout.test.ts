// The code layout's rules, read from the imports of src/**/*.ts (the sources, not dist/):
//   - local/ is the embedded cluster alone: no module outside it imports from it but runtime/, which hosts
//     the local clusters in `meshwork up`'s process (cli/ and scenario/ reach them through runtime/), and
//     realkube/, which runs `up --apiserver real` on the same local address plan.
//     Tests may: an embedded cluster is the real API server they run against.
//   - k8s/, the Kubernetes kit shared by every mode, is the bottom: it imports nothing of src/ outside it
//     (leaf modules at src/'s top aside), so no folder cycle runs through it;
//   - no cycle between modules through imports that run (an `import type` is erased at compile time);
//   - no cycle between folders (a folder is the first path segment under src/; a module at src/'s top is
//     its own node), type imports included: the folders form layers, each building only on lower ones
//     (docs/architecture.md draws them). Tests aside, as for every rule here: a test may drive any layer.
// Run alone: npm run -s build && node --test dist/src/layout.test.js
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The folders whose modules may import the embedded cluster's (src/local/). */
const EMBEDDED_HOSTS = ['local', 'runtime', 'realkube'];

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root (package.json) above the layout test');
    dir = parent;
  }
  return dir;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

const isTest = (file: string): boolean => file.endsWith('.test.ts') || file.split('/').includes('testdata');

/** Every relative import of a file (static, re-export, dynamic), as a path from the repository root. */
function importsOf(root: string, file: string): Edge[] {
  const text = readFileSync(join(root, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const edges: Edge[] = [];
  const add = (spec: string, typeOnly: boolean) => {
    if (!spec.startsWith('.')) return;
    const target = posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.js$/, '.ts');
    edges.push({ from: file, to: target, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const allTypes =
        !!clause &&
        (clause.isTypeOnly ||
          (!clause.name && !!clause.namedBindings && ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.length > 0 && clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier.text, allTypes);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node.isTypeOnly);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      add(node.arguments[0].text, false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return edges;
}

/** Strongly connected components of more than one node (Tarjan), each sorted. */
function cycles(nodes: Iterable<string>, next: (n: string) => Iterable<string>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const strong = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) found.push(scc.sort());
    }
  };
  for (const n of nodes) if (!idx.has(n)) strong(n);
  return found;
}

/** The edges of one cycle, as "a -> b (file -> file)" lines, so a failure names the imports to cut. */
function describeCycle(members: string[], edges: Edge[]): string {
  const inCycle = new Set(members);
  return edges
    .filter((e) => inCycle.has(e.from) && inCycle.has(e.to))
    .map((e) => `    ${e.from} -> ${e.to}${e.typeOnly ? ' (type)' : ''}`)
    .join('\n');
}

/** src/<folder>/... -> <folder>; a module at src/'s top (clock.ts) is a node of its own. */
function folderOf(file: string): string {
  const parts = file.split('/');
  return parts.length > 2 ? parts[1]! : parts[1]!.replace(/\.ts$/, '.ts (top)');
}

/**
 * The folder cycles among imports (type imports included), one message each: the folders of the cycle,
 * a shortest cycle through them, and the file-level imports that close each step of it.
 */
function folderCycles(edges: readonly Edge[]): string[] {
  const between = new Map<string, Edge[]>();
  for (const e of edges) {
    const from = folderOf(e.from);
    const to = folderOf(e.to);
    if (from === to) continue;
    const key = `${from} -> ${to}`;
    between.set(key, [...(between.get(key) ?? []), e]);
  }
  const next = new Map<string, string[]>();
  for (const key of between.keys()) {
    const [from, to] = key.split(' -> ') as [string, string];
    next.set(from, [...(next.get(from) ?? []), to]);
  }
  const folders = [...new Set(edges.flatMap((e) => [folderOf(e.from), folderOf(e.to)]))].sort();
  return cycles(folders, (n) => next.get(n) ?? []).map((members) => {
    // A shortest way back to the first member, through members only (breadth first), so the message
    // names one concrete cycle even when the strongly connected set is larger.
    const inSet = new Set(members);
    const start = members[0]!;
    const cameFrom = new Map<string, string>();
    const queue = [start];
    let last: string | undefined;
    while (queue.length > 0 && last === undefined) {
      const at = queue.shift()!;
      for (const to of next.get(at) ?? []) {
        if (!inSet.has(to)) continue;
        if (to === start) {
          last = at;
          break;
        }
        if (!cameFrom.has(to)) {
          cameFrom.set(to, at);
          queue.push(to);
        }
      }
    }
    const path = [start];
    for (let at = last!; at !== start; at = cameFrom.get(at)!) path.splice(1, 0, at);
    path.push(start);
    const steps = path.slice(1).map((to, i) => {
      const imports = between.get(`${path[i]} -> ${to}`)!;
      return `  ${path[i]} -> ${to}:\n${imports.map((e) => `    ${e.from} -> ${e.to}${e.typeOnly ? ' (type)' : ''}`).join('\n')}`;
    });
    return `folders ${members.join(', ')} import each other; one cycle: ${path.join(' -> ')}\n${steps.join('\n')}`;
  });
}

const root = repoRoot();
const files = sources(join(root, 'src')).map((f) => relative(root, f).split('\\').join('/'));
const modules = files.filter((f) => !isTest(f));
const edges = modules.flatMap((f) => importsOf(root, f));

describe('code layout', () => {
  it('reads the sources', () => {
    assert.ok(modules.length > 100, `expected the modules of src/, found ${modules.length}`);
    assert.ok(edges.length > modules.length, `expected more imports than modules, found ${edges.length}`);
    const missing = edges.filter((e) => !existsSync(join(root, e.to)));
    assert.deepEqual(missing.map((e) => `${e.from} -> ${e.to}`), [], 'imports that name no file of src/');
  });

  it('no module outside the embedded cluster and its host imports from local/', () => {
    const bad = edges.filter((e) => e.to.startsWith('src/local/') && !EMBEDDED_HOSTS.some((h) => e.from.startsWith(`src/${h}/`)));
    assert.deepEqual(
      bad.map((e) => `${e.from} -> ${e.to}`),
      [],
      'local/ is the embedded cluster alone: what mesh code needs from it belongs in k8s/ (the Kubernetes kit) or in the mesh folder that uses it',
    );
  });

  it('k8s/, the Kubernetes kit, imports nothing of src/ outside itself but leaf modules at src/\'s top', () => {
    const leaves = new Set(modules.filter((f) => f.split('/').length === 2 && edges.every((e) => e.from !== f)));
    const bad = edges.filter((e) => e.from.startsWith('src/k8s/') && !e.to.startsWith('src/k8s/') && !leaves.has(e.to));
    assert.deepEqual(
      bad.map((e) => `${e.from} -> ${e.to}`),
      [],
      'every mode (the control plane, the injector, the installer, the local clusters) builds on k8s/: it must not build on them, so it sits in no folder cycle',
    );
  });

  it('no modules import each other through imports that run', () => {
    const running = edges.filter((e) => !e.typeOnly);
    const next = new Map<string, string[]>();
    for (const e of running) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
    const found = cycles(modules, (n) => next.get(n) ?? []);
    assert.deepEqual(found.map((c) => `${c.join(' <-> ')}\n${describeCycle(c, running)}`), [], 'modules in an import cycle');
  });

  it('the folders of src/ form layers: no folder cycle, type imports included', () => {
    assert.deepEqual(
      folderCycles(edges),
      [],
      'a folder cycle: move the shared piece down into the lower folder (a type, a constant, a helper) or the wiring up into the folder that registers it',
    );
  });

  it('a folder cycle is reported with the imports that close it', () => {
    const found = folderCycles([
      { from: 'src/a/x.ts', to: 'src/b/y.ts', typeOnly: false },
      { from: 'src/b/y.ts', to: 'src/c/z.ts', typeOnly: false },
      { from: 'src/c/z.ts', to: 'src/a/w.ts', typeOnly: true },
      { from: 'src/c/z.ts', to: 'src/d/v.ts', typeOnly: false },
      { from: 'src/a/x.ts', to: 'src/clock.ts', typeOnly: false },
    ]);
    assert.deepEqual(found, [
      'folders a, b, c import each other; one cycle: a -> b -> c -> a\n' +
        '  a -> b:\n    src/a/x.ts -> src/b/y.ts\n' +
        '  b -> c:\n    src/b/y.ts -> src/c/z.ts\n' +
        '  c -> a:\n    src/c/z.ts -> src/a/w.ts (type)',
    ]);
  });
});
