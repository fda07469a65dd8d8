// Where a mesh command writes, and how it fails: commands take a CommandIo so tests read what a user
// would see, and return the process exit code instead of calling process.exit themselves.

export interface CommandIo {
  /** One line of the command's result (stdout). */
  out(line: string): void;
  /** Progress, notes and warnings (stderr): never mixed into -o json output. */
  err(line: string): void;
}

export const processIo: CommandIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** A failure with a message for the user and the exit code the command should end with. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Writes a multi-line block (a table, a JSON document) line by line. */
export function outBlock(io: CommandIo, text: string): void {
  for (const line of text.split('\n')) io.out(line);
}
