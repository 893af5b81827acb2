/** `sluice sim`: runs the simulated upstream until SIGINT/SIGTERM. */

import { parseArgs } from 'node:util';
import { startSim, type SimOptions } from './server';

const USAGE = `Usage: sluice sim [options]

Runs the simulated upstream (OpenAI, Anthropic and Bedrock protocols) on loopback.

Options:
  --port <n>            port to listen on (default: a free port)
  --host <addr>         interface to bind (default: 127.0.0.1)
  --latency-ms <n>      fixed delay before every answer (default: 0)
  --first-token-ms <n>  extra delay before the first generated token (default: 0)
  --per-token-ms <n>    delay between streamed chunks (default: 0)
  --batch-delay-ms <n>  duration of each batch state (validating, in_progress, finalizing) (default: 0)
  --help                show this help

Faults: put [[sim:fault=429]] (or 500, 503, 529, timeout, disconnect, flex-capacity, bad-json,
stream-error, model-timeout, model-not-ready; add ,times=N to fail only the first N) in a prompt,
or POST {"fault":"500","times":1,"match":{"model":"gpt-4o"}} to /_sim/faults.
`;

const NUMERIC_FLAGS = {
  port: 'port',
  'latency-ms': 'fixedLatencyMs',
  'first-token-ms': 'firstTokenMs',
  'per-token-ms': 'perTokenMs',
  'batch-delay-ms': 'batchDelayMs',
} as const satisfies Record<string, keyof SimOptions>;

type NumericFlag = keyof typeof NUMERIC_FLAGS;

function parseOptions(argv: string[]): SimOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'latency-ms': { type: 'string' },
      'first-token-ms': { type: 'string' },
      'per-token-ms': { type: 'string' },
      'batch-delay-ms': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return 'help';
  const options: SimOptions = {};
  if (values.host !== undefined) options.host = values.host;
  for (const flag of Object.keys(NUMERIC_FLAGS) as NumericFlag[]) {
    const raw = values[flag];
    if (raw === undefined) continue;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0) throw new Error(`--${flag} must be a non-negative integer, got "${raw}"`);
    options[NUMERIC_FLAGS[flag]] = value;
  }
  return options;
}

/** Parses flags, starts the sim, prints how to point Sluice at it, and serves until a signal. Returns the exit code. */
export async function simCommand(argv: string[]): Promise<number> {
  let options: SimOptions | 'help';
  try {
    options = parseOptions(argv);
  } catch (error) {
    process.stderr.write(`sluice sim: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }

  const sim = await startSim(options);
  process.stdout.write(
    [
      `Sluice sim listening on ${sim.url}`,
      '',
      'Point Sluice (or any SDK) at it with:',
      `  OPENAI_BASE_URL=${sim.url}/v1`,
      `  ANTHROPIC_BASE_URL=${sim.url}`,
      `  BEDROCK_BASE_URL=${sim.url}`,
      '',
      'Any non-empty API key is accepted. Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await sim.close();
  process.stdout.write('Sluice sim stopped.\n');
  return 0;
}
