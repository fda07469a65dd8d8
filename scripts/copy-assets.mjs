// tsc emits only JavaScript: copy the other files that modules read at run time (.proto files,
// test data) from src/ and test/ into dist/, beside the compiled modules that load them.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

function copyTree(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) copyTree(path);
    else if (!/\.ts$/.test(entry.name)) {
      const target = join('dist', path);
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(path, target);
    }
  }
}
for (const root of ['src', 'test']) copyTree(root);
