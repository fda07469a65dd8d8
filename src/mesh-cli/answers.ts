// The answers of one curl run that fetched a URL many times: curl prints every body followed by a
// marker line of our own (--write-out), so the stream splits into one answer per request, and each
// answer names the version and instance that served it (the helloworld sample's
// "Hello version: v1, instance: helloworld-v1-..." and anything shaped like it).

export interface Answer {
  /** HTTP status; 0 when no response came (curl's 000). */
  status: number;
  /** curl's exit code for this transfer (0 = ok); undefined for a curl too old for %{exitcode}. */
  curlExit?: number;
  body: string;
  version?: string;
  instance?: string;
}

export type AnswerOutcome = { ok: true; version: string; instance?: string } | { ok: false; reason: string };

/** The --write-out format: a line of its own after each body, tagged so no body can imitate it. */
export function writeOutFormat(marker: string): string {
  return `\\n${marker} %{http_code} %{exitcode}\\n`;
}

export function newMarker(random: () => number = Math.random): string {
  return `@@meshwork-${Math.floor(random() * 2 ** 48).toString(36)}`;
}

const VERSION = /\bversion:\s*([^\s,]+)/i;
const INSTANCE = /\binstance:\s*([^\s,]+)/i;

export function parseBody(body: string): { version?: string; instance?: string } {
  const version = VERSION.exec(body)?.[1];
  const instance = INSTANCE.exec(body)?.[1];
  return { ...(version ? { version } : {}), ...(instance ? { instance } : {}) };
}

export function outcomeOf(answer: Answer): AnswerOutcome {
  if (answer.curlExit !== undefined && answer.curlExit !== 0) return { ok: false, reason: `curl exit ${answer.curlExit}` };
  if (answer.status === 0) return { ok: false, reason: 'no response' };
  if (answer.status < 200 || answer.status > 299) return { ok: false, reason: `HTTP ${answer.status}` };
  if (!answer.version) return { ok: false, reason: 'answer names no version' };
  return { ok: true, version: answer.version, ...(answer.instance ? { instance: answer.instance } : {}) };
}

/** Incremental: feed stdout chunks as they arrive (for progress), get the answers completed so far. */
export class CurlOutputParser {
  #pending = '';
  #body: string[] = [];
  readonly #marker: RegExp;

  constructor(marker: string) {
    this.#marker = new RegExp(`^${marker.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} (\\d{3}) ?(\\d*)$`);
  }

  push(chunk: string): Answer[] {
    this.#pending += chunk;
    const lines = this.#pending.split('\n');
    this.#pending = lines.pop() ?? '';
    const answers: Answer[] = [];
    for (const line of lines) {
      const m = this.#marker.exec(line);
      if (!m) {
        this.#body.push(line);
        continue;
      }
      // The format starts with a newline so the marker always begins a line: drop that empty line.
      if (this.#body.length > 0 && this.#body[this.#body.length - 1] === '') this.#body.pop();
      const body = this.#body.join('\n');
      this.#body = [];
      answers.push({ status: Number(m[1]), ...(m[2] !== '' ? { curlExit: Number(m[2]) } : {}), body, ...parseBody(body) });
    }
    return answers;
  }

  /** Output after the last marker (a transfer cut short by the end of the exec). */
  leftover(): string {
    return [...this.#body, this.#pending].join('\n').trim();
  }
}
