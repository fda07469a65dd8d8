// Option parsers and options shared by several commands.
import { InvalidArgumentError, Option } from 'commander';
import { DEFAULT_STATE_DIR } from '../runtime/state.js';
import { parseOutputFormat } from './output.js';

export function parseIntOption(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got "${value}"`);
    return n;
  };
}

export function parseProbabilityOption(value: string): number {
  const p = Number(value);
  if (!(p > 0 && p < 1)) throw new InvalidArgumentError(`expected a probability between 0 and 1 (exclusive), got "${value}"`);
  return p;
}

export function stateDirOption(): Option {
  return new Option('--state-dir <dir>', 'folder holding the local clusters\' state').default(process.env.MESHWORK_STATE_DIR ?? DEFAULT_STATE_DIR);
}

export function outputOption(): Option {
  return new Option('-o, --output <format>', 'table, wide, json or yaml').default('table').argParser((v) => {
    try {
      return parseOutputFormat(v);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  });
}
