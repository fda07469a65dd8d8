// The real kubectl and the meshwork CLI against one kubeconfig, for tests that start their own API
// servers: kubectl fails the test with its stderr unless the caller expects a failure; the meshwork CLI
// returns its exit code and output for the test to judge.
import { run, type RunResult } from './meshwork.js';
import { MESHWORK_BIN } from './paths.js';

export interface KubeCli {
  kubectl(context: string, args: string[], opts?: { allowFail?: boolean }): Promise<RunResult>;
  meshwork(args: string[]): Promise<RunResult>;
}

export function kubeCli(kubeconfig: string): KubeCli {
  return {
    async kubectl(context, args, opts = {}) {
      const result = await run('kubectl', ['--kubeconfig', kubeconfig, '--context', context, ...args]);
      if (result.code !== 0 && !opts.allowFail) throw new Error(`kubectl --context ${context} ${args.join(' ')}: ${result.stderr}`);
      return result;
    },
    meshwork: (args) => run(process.execPath, [MESHWORK_BIN, ...args], { env: { KUBECONFIG: kubeconfig }, timeoutMs: 180_000 }),
  };
}
