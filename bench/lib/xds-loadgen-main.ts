// Process entry of the simulated sidecars: argv[2] is a LoadgenConfig as JSON; talks to its parent over
// the IPC channel (LoadgenMessage up; 'stop' down). Exits when told to stop or when the parent goes away.
import { runLoadgen, type LoadgenConfig, type LoadgenMessage } from './xds-loadgen.js';

const cfg = JSON.parse(process.argv[2] ?? 'null') as LoadgenConfig | null;
if (!cfg || typeof cfg.port !== 'number' || typeof cfg.proxies !== 'number' || !process.send) {
  process.stderr.write('usage: xds-loadgen-main <LoadgenConfig as JSON> (spawned with an IPC channel)\n');
  process.exit(2);
}
const send = (m: LoadgenMessage): void => {
  process.send?.(m);
};
runLoadgen(cfg, send).then(
  (lg) => {
    const stop = (): void => {
      lg.stop();
      process.exit(0);
    };
    process.on('message', (m: unknown) => {
      if (m === 'stop') stop();
    });
    process.on('disconnect', stop);
  },
  (err: unknown) => {
    process.stderr.write(`xds loadgen failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
