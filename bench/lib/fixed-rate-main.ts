// Process entry of the fixed-rate client: argv[2] is a FixedRateConfig as JSON; prints a FixedRateResult as JSON.
import { runFixedRate, type FixedRateConfig } from './fixed-rate-client.js';

const cfg = JSON.parse(process.argv[2] ?? 'null') as FixedRateConfig | null;
if (!cfg || typeof cfg.port !== 'number' || typeof cfg.rate !== 'number') {
  process.stderr.write('usage: fixed-rate-main <FixedRateConfig as JSON>\n');
  process.exit(2);
}
runFixedRate(cfg).then(
  (r) => {
    process.stdout.write(JSON.stringify(r) + '\n');
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`fixed-rate client failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
