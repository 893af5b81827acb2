import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** Sluice keys. Only the SHA-256 of the secret is stored; the secret is shown once, at creation. */
export const apiKeys = sqliteTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    hash: text('hash').notNull().unique(),
    /** The first characters of the secret, so people can tell keys apart in lists. */
    prefix: text('prefix').notNull(),
    user: text('user'),
    team: text('team'),
    project: text('project'),
    /** JSON object of cost-allocation tags. */
    tags: text('tags').notNull().default('{}'),
    /** JSON arrays; empty means no restriction. */
    allowedModels: text('allowed_models').notNull().default('[]'),
    allowedFamilies: text('allowed_families').notNull().default('[]'),
    /** JSON KeyPolicy. */
    policy: text('policy').notNull().default('{}'),
    createdAt: integer('created_at').notNull(),
    revokedAt: integer('revoked_at'),
  },
  (t) => [index('api_keys_team_idx').on(t.team)],
);
