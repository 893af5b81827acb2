/** OpenAI Files API: upload (multipart), retrieve, list, content, delete. Batch input and output live here. */

import type { SimCall } from '../call';
import type { SimContext } from '../context';
import { SimError, invalidRequest } from '../errors';
import { multipartBoundary, parseMultipart } from '../multipart';

const UPLOAD_LIMIT_BYTES = 512 * 1024 * 1024;
const BATCH_FILE_TTL_SECONDS = 30 * 24 * 60 * 60;
const PURPOSES = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'] as const;

export type FilePurpose = (typeof PURPOSES)[number] | 'batch_output';

export interface StoredFile {
  id: string;
  filename: string;
  purpose: FilePurpose;
  createdAt: number;
  expiresAt: number | null;
  data: Buffer;
}

export class FileStore {
  private readonly files = new Map<string, StoredFile>();

  add(ctx: SimContext, filename: string, purpose: FilePurpose, data: Buffer): StoredFile {
    const createdAt = ctx.nowSeconds();
    const file: StoredFile = {
      id: ctx.ids.next('file-', 22),
      filename,
      purpose,
      createdAt,
      expiresAt: purpose === 'batch' || purpose === 'batch_output' ? createdAt + BATCH_FILE_TTL_SECONDS : null,
      data,
    };
    this.files.set(file.id, file);
    return file;
  }

  get(id: string): StoredFile | undefined {
    return this.files.get(id);
  }

  delete(id: string): boolean {
    return this.files.delete(id);
  }

  /** Newest first. */
  list(): StoredFile[] {
    return [...this.files.values()].reverse();
  }

  clear(): void {
    this.files.clear();
  }
}

function renderFile(file: StoredFile) {
  return {
    id: file.id,
    object: 'file',
    bytes: file.data.length,
    created_at: file.createdAt,
    expires_at: file.expiresAt,
    filename: file.filename,
    purpose: file.purpose,
    status: 'processed',
    status_details: null,
  };
}

export function requireFile(ctx: SimContext, id: string): StoredFile {
  const file = ctx.files.get(id);
  if (!file) throw new SimError('not_found', `No such File object: ${id}`, { param: 'id' });
  return file;
}

export async function handleUploadFile(call: SimCall): Promise<void> {
  call.authenticate();
  const boundary = multipartBoundary(call.header('content-type'));
  if (!boundary) throw invalidRequest("Invalid Content-Type header: expected 'multipart/form-data' with a boundary.", null, null);
  const body = await call.readBody(UPLOAD_LIMIT_BYTES, 'File too large: the maximum upload size is 512 MB.');
  const parts = parseMultipart(body, boundary);
  const purpose = parts.find((p) => p.name === 'purpose')?.data.toString('utf8');
  const file = parts.find((p) => p.name === 'file');
  if (purpose === undefined) throw invalidRequest("Missing required parameter: 'purpose'.", 'purpose', 'missing_required_parameter');
  if (!(PURPOSES as readonly string[]).includes(purpose)) {
    throw invalidRequest(`Invalid value: '${purpose}'. Supported values are: ${PURPOSES.map((p) => `'${p}'`).join(', ')}.`, 'purpose', 'invalid_value');
  }
  if (!file || file.filename === null) throw invalidRequest("Missing required parameter: 'file'.", 'file', 'missing_required_parameter');
  if (purpose === 'batch' && !file.filename.endsWith('.jsonl')) {
    throw invalidRequest('Invalid file format for Batch API. Must be .jsonl', 'file', 'invalid_file_format');
  }
  const stored = call.ctx.files.add(call.ctx, file.filename, purpose as FilePurpose, file.data);
  call.sendJson(200, renderFile(stored));
}

export function handleListFiles(call: SimCall): void {
  call.authenticate();
  const purpose = call.query.get('purpose');
  const limit = Math.min(Math.max(Number(call.query.get('limit') ?? 10000) || 10000, 1), 10000);
  let files = call.ctx.files.list().filter((f) => purpose === null || f.purpose === purpose);
  if (call.query.get('order') === 'asc') files = files.reverse();
  const after = call.query.get('after');
  if (after !== null) files = files.slice(files.findIndex((f) => f.id === after) + 1);
  const page = files.slice(0, limit);
  call.sendJson(200, {
    object: 'list',
    data: page.map(renderFile),
    first_id: page[0]?.id ?? null,
    last_id: page.at(-1)?.id ?? null,
    has_more: files.length > page.length,
  });
}

export function handleRetrieveFile(call: SimCall): void {
  call.authenticate();
  call.sendJson(200, renderFile(requireFile(call.ctx, call.params[0] ?? '')));
}

export function handleFileContent(call: SimCall): void {
  call.authenticate();
  const file = requireFile(call.ctx, call.params[0] ?? '');
  call.sendText(200, file.data, 'application/octet-stream');
}

export function handleDeleteFile(call: SimCall): void {
  call.authenticate();
  const file = requireFile(call.ctx, call.params[0] ?? '');
  call.ctx.files.delete(file.id);
  call.sendJson(200, { id: file.id, object: 'file', deleted: true });
}
