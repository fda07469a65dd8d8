// Every process group the kubelet starts is recorded in <stateDir>/pids.json, so that a kubelet that
// starts after a crash (even a SIGKILL) can kill what the previous one left behind. A recorded pid is
// only killed when /proc proves it is ours: same process group and MESHWORK_POD_UID=<uid> in its
// environment, so a pid the system has since reused for something else is never touched.
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { POD_UID_MARKER } from './container-env.js';
import { processRunning } from '../../os/proc.js';
import { readShimState } from './shim-protocol.js';

/** A container whose monitor and process group a previous kubelet left running. */
export interface RunningContainer {
  podUid: string;
  container: string;
  shimPid: number;
  pgid: number;
  startedMs: number;
}

export interface PidRecord {
  /** Process group id (= pid of the group leader, spawned detached). */
  pgid: number;
  podUid: string;
  /** `<namespace>/<pod>/<container>`, `.../monitor` or `.../exec`, for log lines. */
  owner: string;
  /** Set on a container's monitor (shim.ts): the container it runs and its state file, for adoption. */
  container?: string;
  stateFile?: string;
}


export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

export class ProcessRegistry {
  private readonly records = new Map<number, PidRecord>();

  constructor(
    private readonly file: string,
    private readonly log: (line: string) => void,
  ) {}

  add(record: PidRecord): void {
    this.records.set(record.pgid, record);
    this.save();
  }

  remove(pgid: number): void {
    if (this.records.delete(pgid)) this.save();
  }

  private save(): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify([...this.records.values()], null, 1) + '\n');
    renameSync(tmp, this.file);
  }

  /**
   * The containers a previous kubelet started that still run: the monitor is alive and ours (its pod
   * marker in /proc), its state file names a process group that is alive, ours, and has not exited.
   */
  runningContainers(): RunningContainer[] {
    const previous = readRecords(this.file, this.log);
    const out: RunningContainer[] = [];
    for (const r of previous) {
      if (r.container === undefined || r.stateFile === undefined) continue;
      if (!processRunning(r.pgid) || !environHas(r.pgid, `${POD_UID_MARKER}=${r.podUid}`)) continue;
      let state;
      try {
        state = readShimState(r.stateFile);
      } catch (err) {
        this.log(`container ${r.owner}: ${(err as Error).message}; not adopted`);
        continue;
      }
      if (!state || state.exit || state.pgid === undefined || state.startedMs === undefined) continue;
      if (!processRunning(state.pgid) || !environHas(state.pgid, `${POD_UID_MARKER}=${r.podUid}`)) continue;
      out.push({ podUid: r.podUid, container: r.container, shimPid: r.pgid, pgid: state.pgid, startedMs: state.startedMs });
    }
    return out;
  }

  /**
   * Kills the processes recorded by a previous kubelet (verified through /proc) except the groups in
   * `keep` (adopted containers, whose records stay), waits until they are gone. Returns how many
   * processes were killed.
   */
  async killLeftovers(keep: ReadonlySet<number> = new Set()): Promise<number> {
    const previous = readRecords(this.file, this.log);
    let killed: number[] = [];
    this.records.clear();
    for (const r of previous) if (keep.has(r.pgid)) this.records.set(r.pgid, r);
    if (previous.length > 0) {
      const byGroup = new Map(previous.filter((r) => !keep.has(r.pgid)).map((r) => [r.pgid, r]));
      for (const proc of listProcesses()) {
        const record = byGroup.get(proc.pgid);
        if (!record || proc.state === 'Z') continue;
        if (!environHas(proc.pid, `${POD_UID_MARKER}=${record.podUid}`)) continue;
        try {
          process.kill(proc.pid, 'SIGKILL');
          killed.push(proc.pid);
          this.log(`killed leftover process ${proc.pid} of ${record.owner} (from a previous kubelet)`);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
        }
      }
      killed = await waitGone(killed);
    }
    this.save();
    return killed.length;
  }
}

function readRecords(file: string, log: (line: string) => void): PidRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) throw new Error('not a list');
    return parsed.filter((r): r is PidRecord => typeof r === 'object' && r !== null && Number.isInteger(r.pgid) && r.pgid > 1 && typeof r.podUid === 'string');
  } catch (err) {
    log(`${file} is unreadable (${(err as Error).message}); no leftover processes can be cleaned up from it`);
    return [];
  }
}

interface ProcInfo {
  pid: number;
  pgid: number;
  state: string;
}

function listProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = readStat(Number(entry));
    if (info) out.push(info);
  }
  return out;
}

function readStat(pid: number): ProcInfo | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if (isGoneOrForbidden(err)) return undefined; // exited while we were scanning
    throw err;
  }
  // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses, so split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pid, state: fields[0], pgid: Number(fields[2]) };
}

function environHas(pid: number, entry: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(entry);
  } catch (err) {
    if (isGoneOrForbidden(err)) return false; // gone, or not ours to read: either way not ours to kill
    throw err;
  }
}

async function waitGone(pids: number[], timeoutMs = 3000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter((pid) => {
      const s = readStat(pid);
      return s !== undefined && s.state !== 'Z';
    });
    if (alive.length === 0) return pids;
    if (Date.now() > deadline) throw new Error(`leftover processes ${alive.join(', ')} did not die after SIGKILL`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function isGoneOrForbidden(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ESRCH' || code === 'EACCES' || code === 'EPERM';
}
