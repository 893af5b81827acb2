// Node-only: the `sluice` command. Every command reads the same configuration as the server.
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { ConfigError } from './config';
import { UsageError } from './cli/args';

const USAGE = `sluice <command>

  serve                 start the gateway (same as npm start)
  migrate               apply database migrations
  keys create|list|revoke
  budgets create|update|list|show|delete|alerts
  sim                   start the simulated upstream (OpenAI, Anthropic, Bedrock protocols)
  demo                  sim + gateway + a sample workload + a spend report
  router eval|calibrate offline evaluation / calibration of the complexity scorer
  report                chargeback report: --from --to --group-by --format json|csv|focus --out
  jobs run <job>|list   run one scheduled job now
  batch list|show|cancel  deferred requests and provider batch jobs

Configuration comes from the environment and SLUICE_CONFIG (see README.md).`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  serve: async () => async () => {
    await (await import('./entry/node')).runNodeGateway();
    return -1;
  },
  migrate: async () => (await import('./cli/migrate')).migrateCommand,
  keys: async () => (await import('./cli/keys')).keysCommand,
  budgets: async () => (await import('./cli/budgets')).budgetsCommand,
  sim: async () => (await import('./sim/command')).simCommand,
  demo: async () => (await import('./cli/demo')).demoCommand,
  router: async () => (await import('./cli/router')).routerCommand,
  jobs: async () => (await import('./cli/jobs')).jobsCommand,
  batch: async () => (await import('./cli/batch')).batchCommand,
  report: async () => (await import('./cli/report')).reportCommand,
};

export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(USAGE);
    return name ? 0 : 1;
  }
  const load = commands[name];
  if (!load) {
    console.error(`unknown command "${name}"\n\n${USAGE}`);
    return 1;
  }
  try {
    return await (await load())(rest);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    if (error instanceof z.ZodError) {
      console.error(error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('\n'));
      return 2;
    }
    throw error;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      // -1: a long-running command (serve) that exits on its own signal handling.
      if (code >= 0) process.exit(code);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
