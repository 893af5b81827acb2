import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** How `npm start` runs the gateway: the variables its `start` script sets, and node's arguments. */
export interface StartCommand {
  env: Record<string, string>;
  args: string[];
}

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

/**
 * `npm start` in a checkout (its `start` script: leading `NAME=value` settings, then node with
 * `node` dropped), so tests and benchmarks run the gateway exactly as production does, without
 * npm's own processes.
 */
export function npmStartCommand(checkout = '.'): StartCommand {
  const { scripts } = JSON.parse(readFileSync(join(checkout, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = scripts.start.trim().split(/\s+/);
  const env: Record<string, string> = {};
  let setting: RegExpExecArray | null;
  while ((setting = ASSIGNMENT.exec(words[0] ?? ''))) {
    env[setting[1]!] = setting[2]!;
    words.shift();
  }
  const [command, ...args] = words;
  if (command !== 'node') throw new Error(`npm start runs "${command}", not node: ${scripts.start}`);
  return { env, args };
}
