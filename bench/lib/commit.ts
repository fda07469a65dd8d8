// The commit a benchmark ran at, for its report: figures are only worth something with the code they measured.
import { execFileSync } from 'node:child_process';
import { REPO_ROOT } from '../../test/helpers/paths.js';

/** `git rev-parse --short HEAD` of the repository, with "+changes" when tracked files differ from it; "unknown" outside git. */
export function benchCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}+changes` : head;
  } catch {
    return 'unknown';
  }
}
