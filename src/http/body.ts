import type { Context } from 'hono';
import type { z } from 'zod';
import { SluiceError } from '../errors';
import { fromZodError } from './errors';
import { readBodyText, requestHeader, tooLarge } from './raw';
import type { AppEnv } from './types';

/**
 * Reads and validates a JSON request body: the content type must be JSON, the size within the
 * configured limit (413 otherwise, checked on the declared length before reading), the text
 * valid JSON, and the value must match the schema. Each failure names what was wrong.
 */
export async function readJson<S extends z.ZodType>(c: Context<AppEnv>, schema: S): Promise<z.infer<S>> {
  const limit = c.get('services').deps.config.maxBodyBytes;
  const contentType = requestHeader(c, 'content-type') ?? '';
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)) {
    throw new SluiceError('unsupported_media_type', `Send the request body as JSON with Content-Type: application/json (got ${contentType ? `"${contentType}"` : 'none'}).`);
  }
  const declared = Number(requestHeader(c, 'content-length'));
  if (declared > limit) throw tooLarge(limit);
  const text = await readBodyText(c, limit);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SluiceError('invalid_json', `The request body is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw fromZodError(parsed.error);
  return parsed.data;
}

/** Validates query parameters against a schema, answering 400 with the parameter's name. */
export function readQuery<S extends z.ZodType>(c: Context<AppEnv>, schema: S): z.infer<S> {
  const parsed = schema.safeParse(c.req.query());
  if (!parsed.success) throw fromZodError(parsed.error, 'query');
  return parsed.data;
}
