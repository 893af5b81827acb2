// Node-only: `sluice keys create|list|revoke`, straight against the configured database.
import { openDatabase } from '../db/client';
import { applyMigrations } from '../db/migrate';
import { systemClock } from '../deps';
import { loadConfig } from '../entry/load-config';
import { CreateKeyInput, createKey, listKeys, revokeKey } from '../keys/keys';
import { KeyPolicy } from '../keys/policy';
import { parseTags } from '../gateway/hints';
import { flag, parseArgs, UsageError } from './args';

export const KEYS_USAGE = `sluice keys create --name NAME [--user U] [--team T] [--project P] [--tags k=v,k=v] [--policy JSON] [--models a,b] [--families f,g]
sluice keys list [--all] [--team T] [--json]
sluice keys revoke KEY_ID`;

export async function keysCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['all', 'json']);
  const [sub, ...rest] = args.positionals;
  const config = loadConfig(process.env);
  const database = await openDatabase(config.dbUrl, config.dbAuthToken);
  try {
    await applyMigrations(database.db);
    switch (sub) {
      case 'create': {
        const list = (name: string): string[] | undefined => flag(args, name)?.split(',').map((s) => s.trim()).filter(Boolean);
        const policy = flag(args, 'policy');
        const input = CreateKeyInput.parse({
          name: flag(args, 'name'),
          user: flag(args, 'user'),
          team: flag(args, 'team'),
          project: flag(args, 'project'),
          tags: flag(args, 'tags') === undefined ? undefined : parseTags(flag(args, 'tags')),
          allowed_models: list('models'),
          allowed_families: list('families'),
          policy: policy === undefined ? undefined : KeyPolicy.parse(JSON.parse(policy)),
        });
        const key = await createKey(database.db, input, systemClock.now());
        console.log(JSON.stringify(key, null, 2));
        console.error('The key above is shown only now; store it safely.');
        return 0;
      }
      case 'list': {
        const team = flag(args, 'team');
        const page = await listKeys(database.db, { includeRevoked: args.flags.has('all'), limit: 500, ...(team ? { team } : {}) });
        if (args.flags.has('json')) console.log(JSON.stringify(page.data, null, 2));
        else {
          for (const k of page.data) {
            console.log([k.id, k.prefix + '…', k.name, k.team ?? '-', k.project ?? '-', k.revoked_at ? `revoked ${k.revoked_at}` : 'active'].join('\t'));
          }
        }
        return 0;
      }
      case 'revoke': {
        const id = rest[0];
        if (!id) throw new UsageError('keys revoke needs a KEY_ID');
        const key = await revokeKey(database.db, id, systemClock.now());
        console.log(`revoked ${key.id} (${key.name}) at ${key.revoked_at}`);
        return 0;
      }
      default:
        throw new UsageError(KEYS_USAGE);
    }
  } finally {
    database.close();
  }
}
