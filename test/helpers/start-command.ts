import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The arguments `npm start` gives node in a checkout (its `start` script, `node` dropped), so
 * tests and benchmarks run the gateway exactly as production does, without npm's own processes.
 */
export function npmStartArgs(checkout = '.'): string[] {
  const { scripts } = JSON.parse(readFileSync(join(checkout, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [command, ...args] = scripts.start.trim().split(/\s+/);
  if (command !== 'node') throw new Error(`npm start runs "${command}", not node: ${scripts.start}`);
  return args;
}
