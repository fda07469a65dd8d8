// Container logs as the real kubelet keeps them: one file per container instance in the CRI log format
// (`<RFC3339Nano time> <stdout|stderr> <F|P> <text>` per line), the previous instance's file kept beside
// it. Files live in <stateDir>/logs/<namespace>_<pod>_<container>.log (.previous.log). As the kubelet's
// containerLogMaxSize / containerLogMaxFiles, a current file that outgrows the size is rotated to
// .log.1 (older ones shift to .log.2 ...), and at most maxFiles files of an instance are kept: a chatty
// container cannot fill the disk. `kubectl logs` reads the current file, as with the real kubelet.
import { appendFileSync, existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

const WALL_BASE_NS = BigInt(Date.now()) * 1_000_000n;
const HR_BASE_NS = process.hrtime.bigint();

/** Now as RFC 3339 with nanoseconds (monotonic within this process). */
export function nowRfc3339Nano(): string {
  const ns = WALL_BASE_NS + (process.hrtime.bigint() - HR_BASE_NS);
  const seconds = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
}

export type LogStreamName = 'stdout' | 'stderr';

export interface LogLine {
  time: string;
  stream: LogStreamName;
  /** With its trailing newline unless it was a partial line at the end of the instance. */
  text: string;
}

type Follower = { onLine: (line: LogLine) => void; onEnd: () => void };

export function logPaths(logDir: string, namespace: string, pod: string, container: string): { current: string; previous: string } {
  const base = join(logDir, `${namespace}_${pod}_${container}`);
  return { current: `${base}.log`, previous: `${base}.previous.log` };
}

export interface LogRotation {
  /** containerLogMaxSize: bytes of the current file before it is rotated (kubelet default 10 Mi). */
  maxBytes: number;
  /** containerLogMaxFiles: files kept per instance, the current one included (kubelet default 5). */
  maxFiles: number;
}

export const KUBELET_LOG_ROTATION: LogRotation = { maxBytes: 10 * 1024 * 1024, maxFiles: 5 };

/** The log of one container across its instances (restarts). */
export class ContainerLog {
  readonly current: string;
  readonly previous: string;
  private readonly followers = new Set<Follower>();
  private open = false;
  private size = 0;

  constructor(logDir: string, namespace: string, pod: string, container: string, private readonly rotation: LogRotation = KUBELET_LOG_ROTATION) {
    ({ current: this.current, previous: this.previous } = logPaths(logDir, namespace, pod, container));
  }

  /** Starts a new instance: the last instance's file becomes the previous log. */
  startInstance(): void {
    if (existsSync(this.current)) renameSync(this.current, this.previous);
    this.removeRotated();
    appendFileSync(this.current, '');
    this.size = 0;
    this.open = true;
  }

  /** The rotated files of the running instance, newest first. */
  rotatedFiles(): string[] {
    const files: string[] = [];
    for (let i = 1; i < this.rotation.maxFiles; i++) if (existsSync(`${this.current}.${i}`)) files.push(`${this.current}.${i}`);
    return files;
  }

  private removeRotated(): void {
    for (let i = 1; i <= this.rotation.maxFiles; i++) rmSync(`${this.current}.${i}`, { force: true });
  }

  private rotate(): void {
    const keep = this.rotation.maxFiles - 1;
    if (keep <= 0) {
      rmSync(this.current, { force: true });
    } else {
      rmSync(`${this.current}.${keep}`, { force: true });
      for (let i = keep - 1; i >= 1; i--) if (existsSync(`${this.current}.${i}`)) renameSync(`${this.current}.${i}`, `${this.current}.${i + 1}`);
      renameSync(this.current, `${this.current}.1`);
    }
    appendFileSync(this.current, '');
    this.size = 0;
  }

  /** Whether a follower would see more lines (an instance is running). */
  get live(): boolean {
    return this.open;
  }

  /** Copies a process stream into the log, line by line; resolves when the stream has ended. */
  capture(stream: Readable, name: LogStreamName): Promise<void> {
    const decoder = new StringDecoder('utf8');
    let pending = '';
    return new Promise((resolve) => {
      stream.on('data', (chunk: Buffer) => {
        pending += decoder.write(chunk);
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          this.append({ time: nowRfc3339Nano(), stream: name, text: pending.slice(0, nl + 1) });
          pending = pending.slice(nl + 1);
        }
      });
      const finish = (): void => {
        pending += decoder.end();
        if (pending) this.append({ time: nowRfc3339Nano(), stream: name, text: pending });
        pending = '';
        resolve();
      };
      stream.on('end', finish);
      stream.on('error', (err) => {
        this.append({ time: nowRfc3339Nano(), stream: 'stderr', text: `[kubelet] reading ${name} failed: ${err.message}\n` });
        finish();
      });
    });
  }

  /** Lines written by the kubelet itself (e.g. why a process could not start). */
  note(text: string): void {
    this.append({ time: nowRfc3339Nano(), stream: 'stderr', text: text.endsWith('\n') ? text : `${text}\n` });
  }

  /** The instance is over: followers stop. */
  endInstance(): void {
    this.open = false;
    for (const f of [...this.followers]) f.onEnd();
    this.followers.clear();
  }

  /** Subscribes to lines appended from now on; returns an unsubscribe function. */
  follow(onLine: (line: LogLine) => void, onEnd: () => void): () => void {
    const f: Follower = { onLine, onEnd };
    this.followers.add(f);
    return () => this.followers.delete(f);
  }

  remove(): void {
    this.endInstance();
    rmSync(this.current, { force: true });
    rmSync(this.previous, { force: true });
    this.removeRotated();
  }

  private append(line: LogLine): void {
    const partial = !line.text.endsWith('\n');
    const body = partial ? line.text : line.text.slice(0, -1);
    const entry = `${line.time} ${line.stream} ${partial ? 'P' : 'F'} ${body}\n`;
    if (this.size === 0 && existsSync(this.current)) this.size = statSync(this.current).size;
    if (this.size > 0 && this.size + Buffer.byteLength(entry) > this.rotation.maxBytes) this.rotate();
    appendFileSync(this.current, entry);
    this.size += Buffer.byteLength(entry);
    for (const f of this.followers) f.onLine(line);
  }
}

/** Parses a CRI log file back into lines. */
export function readLogFile(file: string): LogLine[] {
  const out: LogLine[] = [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw err;
  }
  for (const raw of text.split('\n')) {
    if (!raw) continue;
    const m = /^(\S+) (stdout|stderr) ([FP]) ?(.*)$/.exec(raw);
    if (!m) {
      out.push({ time: '', stream: 'stdout', text: `${raw}\n` });
      continue;
    }
    out.push({ time: m[1], stream: m[2] === 'stderr' ? 'stderr' : 'stdout', text: m[3] === 'F' ? `${m[4]}\n` : m[4] });
  }
  return out;
}

export function formatLogLine(line: LogLine, timestamps: boolean): string {
  return timestamps && line.time ? `${line.time} ${line.text}` : line.text;
}
