// Container logs as the real kubelet keeps them: one file per container instance in the CRI log format
// (`<RFC3339Nano time> <stdout|stderr> <F|P> <text>` per line), the previous instance's file kept beside
// it. Files live in <stateDir>/logs/<namespace>_<pod>_<container>.log (.previous.log). As the kubelet's
// containerLogMaxSize / containerLogMaxFiles, a current file that outgrows the size is rotated to
// .log.1 (older ones shift to .log.2 ...), and at most maxFiles files of an instance are kept: a chatty
// container cannot fill the disk. `kubectl logs` reads the current file, as with the real kubelet.
// The writer is the container's monitor (shim.ts), not the kubelet: a follower tails the file.
import { appendFileSync, closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
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
  private readonly followers = new Set<LogTail>();
  private open = false;
  private size = 0;

  constructor(logDir: string, namespace: string, pod: string, container: string, readonly rotation: LogRotation = KUBELET_LOG_ROTATION) {
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
    for (const f of [...this.followers]) f.finish();
    this.followers.clear();
  }

  /** The instance runs in a monitor a previous kubelet started: its file is written, followers may tail it. */
  resumeInstance(): void {
    this.open = true;
  }

  /**
   * Tails the current file from byte `fromOffset` (what the caller has read already) until the instance
   * ends or the returned function is called. Rotation is followed: the renamed file is read to its end first.
   */
  follow(fromOffset: number, onLine: (line: LogLine) => void, onEnd: () => void): () => void {
    const tail = new LogTail(this.current, fromOffset, onLine, () => {
      this.followers.delete(tail);
      onEnd();
    });
    this.followers.add(tail);
    return () => {
      this.followers.delete(tail);
      tail.close();
    };
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
  }
}

/** Parses a CRI log file back into lines. */
export function readLogFile(file: string): LogLine[] {
  return readLog(file).lines;
}

/** The lines of a CRI log file and its size in bytes when read (where a follower starts); undefined when it does not exist. */
export function readLog(file: string): { lines: LogLine[]; bytes: number } {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], bytes: 0 };
    throw err;
  }
  // A line still being written (no newline yet) is left to the follower.
  const end = data.lastIndexOf(10) + 1;
  const lines = data.subarray(0, end).toString('utf8').split('\n').filter(Boolean).map(parseLogLine);
  return { lines, bytes: end };
}

function parseLogLine(raw: string): LogLine {
  const m = /^(\S+) (stdout|stderr) ([FP]) ?(.*)$/.exec(raw);
  if (!m) return { time: '', stream: 'stdout', text: `${raw}\n` };
  return { time: m[1], stream: m[2] === 'stderr' ? 'stderr' : 'stdout', text: m[3] === 'F' ? `${m[4]}\n` : m[4] };
}

const TAIL_POLL_MS = 100;

/** Follows a CRI log file another process writes: polls it, hands over complete lines, follows rotation. */
class LogTail {
  private fd: number | undefined;
  private ino = -1;
  private pending = Buffer.alloc(0);
  private readonly chunk = Buffer.alloc(64 * 1024);
  private readonly timer: NodeJS.Timeout;
  private done = false;

  constructor(
    private readonly file: string,
    private offset: number,
    private readonly onLine: (line: LogLine) => void,
    private readonly onEnd: () => void,
  ) {
    this.reopen(offset);
    this.timer = setInterval(() => this.poll(), TAIL_POLL_MS);
  }

  /** The instance is over: hand over what is left, then end. */
  finish(): void {
    if (this.done) return;
    this.poll();
    this.close();
    this.onEnd();
  }

  close(): void {
    this.done = true;
    clearInterval(this.timer);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private reopen(offset: number): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    try {
      this.fd = openSync(this.file, 'r');
      this.ino = fstatSync(this.fd).ino;
      this.offset = offset;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // between a rotation's rename and the new file
    }
  }

  private poll(): void {
    if (this.done) return;
    this.drain();
    let ino: number | undefined;
    try {
      ino = statSync(this.file).ino;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // Rotated: the old file (still open) was read to its end above; the new one starts at 0.
    if (ino !== undefined && ino !== this.ino) {
      this.reopen(0);
      this.drain();
    }
  }

  private drain(): void {
    if (this.fd === undefined) return;
    for (;;) {
      const n = readSync(this.fd, this.chunk, 0, this.chunk.length, this.offset);
      if (n === 0) break;
      this.offset += n;
      this.pending = Buffer.concat([this.pending, this.chunk.subarray(0, n)]);
    }
    let nl: number;
    while ((nl = this.pending.indexOf(10)) >= 0) {
      const raw = this.pending.subarray(0, nl).toString('utf8');
      this.pending = this.pending.subarray(nl + 1);
      if (raw) this.onLine(parseLogLine(raw));
    }
  }
}

export function formatLogLine(line: LogLine, timestamps: boolean): string {
  return timestamps && line.time ? `${line.time} ${line.text}` : line.text;
}
