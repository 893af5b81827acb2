// Node-only: reads the optional SLUICE_CONFIG file (YAML or JSON) and builds the Config.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, parseConfig, type Config } from '../config';

export function loadConfig(env: Record<string, string | undefined>): Config {
  const path = env.SLUICE_CONFIG?.trim();
  if (!path) return parseConfig(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`SLUICE_CONFIG: cannot read ${path}: ${(error as Error).message}`);
  }
  let file: unknown;
  try {
    file = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(`SLUICE_CONFIG: ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`);
  }
  return parseConfig(env, file ?? {});
}
