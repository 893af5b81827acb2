import { and, desc, eq, inArray, isNull, lt } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../db/client';
import { SluiceError } from '../errors';
import { newId, randomSecret, sha256Hex } from '../util/ids';
import { KeyPolicy } from './policy';
import { apiKeys } from './schema';

export const KEY_PREFIX = 'sk-sluice-';

export const TagName = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'tag names are 1-64 letters, digits, or _ . : -');
export const Tags = z.record(TagName, z.string().max(256));
export type Tags = z.infer<typeof Tags>;

const Label = z.string().trim().min(1).max(128);

export const CreateKeyInput = z
  .object({
    name: Label,
    user: Label.optional(),
    team: Label.optional(),
    project: Label.optional(),
    tags: Tags.optional(),
    allowed_models: z.array(z.string().min(1)).optional(),
    allowed_families: z.array(z.string().min(1)).optional(),
    policy: KeyPolicy.optional(),
  })
  .strict();
export type CreateKeyInput = z.infer<typeof CreateKeyInput>;

export const UpdateKeyInput = CreateKeyInput.partial().strict();
export type UpdateKeyInput = z.infer<typeof UpdateKeyInput>;

/** Who a request is attributed to: everything here comes from the key, never from the request. */
export interface Principal {
  keyId: string;
  name: string;
  user: string | null;
  team: string | null;
  project: string | null;
  tags: Tags;
  allowedModels: string[];
  allowedFamilies: string[];
  policy: KeyPolicy;
}

/** The public view of a key (never the secret or its hash). */
export interface KeyView {
  id: string;
  name: string;
  prefix: string;
  user: string | null;
  team: string | null;
  project: string | null;
  tags: Tags;
  allowed_models: string[];
  allowed_families: string[];
  policy: KeyPolicy;
  created_at: string;
  revoked_at: string | null;
}

type KeyRow = typeof apiKeys.$inferSelect;

function toView(row: KeyRow): KeyView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    user: row.user,
    team: row.team,
    project: row.project,
    tags: JSON.parse(row.tags) as Tags,
    allowed_models: JSON.parse(row.allowedModels) as string[],
    allowed_families: JSON.parse(row.allowedFamilies) as string[],
    policy: JSON.parse(row.policy) as KeyPolicy,
    created_at: new Date(row.createdAt).toISOString(),
    revoked_at: row.revokedAt === null ? null : new Date(row.revokedAt).toISOString(),
  };
}

export function principalFromRow(row: KeyRow): Principal {
  const view = toView(row);
  return {
    keyId: view.id,
    name: view.name,
    user: view.user,
    team: view.team,
    project: view.project,
    tags: view.tags,
    allowedModels: view.allowed_models,
    allowedFamilies: view.allowed_families,
    policy: view.policy,
  };
}

/** Creates a key; the returned `key` is the only time the secret exists outside the caller. */
export async function createKey(db: Db, input: CreateKeyInput, nowMs: number): Promise<KeyView & { key: string }> {
  const secret = `${KEY_PREFIX}${randomSecret(24)}`;
  const row: KeyRow = {
    id: newId('key', nowMs),
    name: input.name,
    hash: await sha256Hex(secret),
    prefix: secret.slice(0, KEY_PREFIX.length + 6),
    user: input.user ?? null,
    team: input.team ?? null,
    project: input.project ?? null,
    tags: JSON.stringify(input.tags ?? {}),
    allowedModels: JSON.stringify(input.allowed_models ?? []),
    allowedFamilies: JSON.stringify(input.allowed_families ?? []),
    policy: JSON.stringify(input.policy ?? {}),
    createdAt: nowMs,
    revokedAt: null,
  };
  await db.insert(apiKeys).values(row);
  return { ...toView(row), key: secret };
}

export async function getKey(db: Db, id: string): Promise<KeyView> {
  const rows = await db.select().from(apiKeys).where(eq(apiKeys.id, id)).limit(1);
  const row = rows[0];
  if (!row) throw new SluiceError('not_found', `No key with id "${id}".`);
  return toView(row);
}

export async function listKeys(
  db: Db,
  options: { includeRevoked: boolean; team?: string; limit: number; cursor?: string },
): Promise<{ data: KeyView[]; next_cursor: string | null }> {
  const conditions = [];
  if (!options.includeRevoked) conditions.push(isNull(apiKeys.revokedAt));
  if (options.team) conditions.push(eq(apiKeys.team, options.team));
  // Ids are time-sortable, so the id itself is the cursor (newest first).
  if (options.cursor) conditions.push(lt(apiKeys.id, options.cursor));
  const rows = await db
    .select()
    .from(apiKeys)
    .where(conditions.length ? and(...conditions) : undefined)
    .orderBy(desc(apiKeys.id))
    .limit(options.limit + 1);
  const page = rows.slice(0, options.limit);
  return { data: page.map(toView), next_cursor: rows.length > options.limit ? (page[page.length - 1]?.id ?? null) : null };
}

export async function updateKey(db: Db, id: string, input: UpdateKeyInput): Promise<KeyView> {
  const changes: Partial<KeyRow> = {};
  if (input.name !== undefined) changes.name = input.name;
  if (input.user !== undefined) changes.user = input.user;
  if (input.team !== undefined) changes.team = input.team;
  if (input.project !== undefined) changes.project = input.project;
  if (input.tags !== undefined) changes.tags = JSON.stringify(input.tags);
  if (input.allowed_models !== undefined) changes.allowedModels = JSON.stringify(input.allowed_models);
  if (input.allowed_families !== undefined) changes.allowedFamilies = JSON.stringify(input.allowed_families);
  if (input.policy !== undefined) changes.policy = JSON.stringify(input.policy);
  if (Object.keys(changes).length === 0) return getKey(db, id);
  const rows = await db.update(apiKeys).set(changes).where(eq(apiKeys.id, id)).returning();
  const row = rows[0];
  if (!row) throw new SluiceError('not_found', `No key with id "${id}".`);
  return toView(row);
}

/** Revokes a key (idempotent: revoking twice keeps the first revocation time). */
export async function revokeKey(db: Db, id: string, nowMs: number): Promise<KeyView> {
  await db
    .update(apiKeys)
    .set({ revokedAt: nowMs })
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)));
  return getKey(db, id);
}

/** The active key with this secret's hash, if any. */
export async function findActiveKeyByHash(db: Db, hash: string): Promise<KeyRow | undefined> {
  const rows = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.hash, hash), isNull(apiKeys.revokedAt)))
    .limit(1);
  return rows[0];
}

/** A key's name and (current) tags, for reports. */
export interface KeyLabel {
  name: string;
  tags: Tags;
}

/** Names and tags of keys by id, for reports (revoked keys included; unknown ids are absent). */
export async function keyLabels(db: Db, ids: readonly string[]): Promise<Map<string, KeyLabel>> {
  const labels = new Map<string, KeyLabel>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db.select({ id: apiKeys.id, name: apiKeys.name, tags: apiKeys.tags }).from(apiKeys).where(inArray(apiKeys.id, ids.slice(i, i + 500)));
    for (const row of rows) labels.set(row.id, { name: row.name, tags: JSON.parse(row.tags) as Tags });
  }
  return labels;
}
