import Anthropic, { BadRequestError as AnthropicBadRequest, ContentTooLargeError } from '@anthropic-ai/sdk';
import OpenAI, { BadRequestError, NotFoundError, toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type SimServer } from '../../../src/sim/server';
import { MINUTE, manualClock } from './helpers';

const STEP = MINUTE;
const HOUR = 60 * MINUTE;
const clock = manualClock();
let sim: SimServer;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  sim = await startSim({ now: clock.now, batchDelayMs: STEP, batchLimits: { openaiMaxRequests: 10, anthropicMaxRequests: 10, anthropicMaxBytes: 64 * 1024 } });
  openai = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: sim.url, apiKey: 'sk-ant-test', maxRetries: 0 });
});
afterAll(() => sim.close());

const chatBody = (content: string) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });
const jsonl = (lines: unknown[]) => Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
const requestLine = (id: string, content: string) => ({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: chatBody(content) });

async function uploadBatch(lines: unknown[]) {
  const file = await openai.files.create({ file: await toFile(jsonl(lines), 'requests.jsonl'), purpose: 'batch' });
  return openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { job: 'nightly' } });
}

async function fileLines(id: string | null | undefined): Promise<Array<Record<string, any>>> {
  if (!id) return [];
  const text = await (await openai.files.content(id)).text();
  return text.trim().split('\n').map((line) => JSON.parse(line));
}

describe('OpenAI files', () => {
  it('uploads, lists, retrieves, serves and deletes files', async () => {
    const file = await openai.files.create({ file: await toFile(Buffer.from('{"a":1}\n'), 'data.jsonl'), purpose: 'batch' });
    expect(file).toMatchObject({ object: 'file', bytes: 8, filename: 'data.jsonl', purpose: 'batch', status: 'processed' });
    expect(file.id).toMatch(/^file-/);
    expect(file.expires_at).toBe(file.created_at + 30 * 24 * 3600);
    expect(await openai.files.retrieve(file.id)).toEqual(file);
    expect(await (await openai.files.content(file.id)).text()).toBe('{"a":1}\n');
    const listed = [];
    for await (const f of openai.files.list({ purpose: 'batch' })) listed.push(f.id);
    expect(listed).toContain(file.id);
    expect(await openai.files.delete(file.id)).toEqual({ id: file.id, object: 'file', deleted: true });
    await expect(openai.files.retrieve(file.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses batch files that are not JSONL', async () => {
    const error = await openai.files.create({ file: await toFile(Buffer.from('x'), 'data.csv'), purpose: 'batch' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).message).toMatch(/Must be \.jsonl/);
  });
});

describe('OpenAI batches', () => {
  it('moves through validating, in_progress, finalizing and completed, with output and error files', async () => {
    const batch = await uploadBatch([requestLine('a', 'First'), requestLine('b', 'Second [[sim:fault=500]]'), requestLine('c', 'Third'), requestLine('d', 'Fourth')]);
    const created = Math.floor(clock.now() / 1000);
    expect(batch).toMatchObject({ object: 'batch', status: 'validating', endpoint: '/v1/chat/completions', completion_window: '24h', created_at: created, expires_at: created + 86400, metadata: { job: 'nightly' } });
    expect(batch.id).toMatch(/^batch_/);
    expect(batch.request_counts).toEqual({ total: 0, completed: 0, failed: 0 });

    clock.advance(STEP);
    const running = await openai.batches.retrieve(batch.id);
    expect(running.status).toBe('in_progress');
    expect(running.in_progress_at).toBe(created + 60);
    clock.advance(STEP / 2);
    expect((await openai.batches.retrieve(batch.id)).request_counts).toEqual({ total: 4, completed: 1, failed: 1 });
    clock.advance(STEP / 2);
    expect((await openai.batches.retrieve(batch.id)).status).toBe('finalizing');
    clock.advance(STEP);
    const done = await openai.batches.retrieve(batch.id);
    expect(done).toMatchObject({ status: 'completed', finalizing_at: created + 120, completed_at: created + 180, request_counts: { total: 4, completed: 3, failed: 1 }, model: 'gpt-4o-mini' });

    const output = await fileLines(done.output_file_id);
    expect(output.map((line) => line.custom_id)).toEqual(['a', 'c', 'd']);
    for (const line of output) {
      expect(line.id).toMatch(/^batch_req_/);
      expect(line.error).toBeNull();
      expect(line.response.status_code).toBe(200);
      expect(line.response.request_id).toMatch(/^req_/);
      expect(line.response.body.object).toBe('chat.completion');
    }
    // Each body is what the synchronous API answers, usage included.
    const sync = await openai.chat.completions.create(chatBody('First') as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect(output[0]!.response.body.choices).toEqual(JSON.parse(JSON.stringify(sync.choices)));
    expect(output[0]!.response.body.usage).toEqual(sync.usage);
    const totalInput = output.reduce((sum, line) => sum + line.response.body.usage.prompt_tokens, 0);
    expect(done.usage!.input_tokens).toBe(totalInput);

    const errors = await fileLines(done.error_file_id);
    expect(errors).toEqual([
      {
        id: expect.stringMatching(/^batch_req_/),
        custom_id: 'b',
        response: {
          status_code: 500,
          request_id: expect.stringMatching(/^req_/),
          body: { error: { message: expect.any(String), type: 'server_error', param: null, code: null } },
        },
        error: null,
      },
    ]);
    const outputFile = await openai.files.retrieve(done.output_file_id!);
    expect(outputFile.purpose).toBe('batch_output');
  });

  it('reports per-request API errors in the error file', async () => {
    const batch = await uploadBatch([requestLine('ok', 'fine'), { custom_id: 'bad', method: 'POST', url: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: [] } }]);
    clock.advance(3 * STEP);
    const done = await openai.batches.retrieve(batch.id);
    expect(done.request_counts).toEqual({ total: 2, completed: 1, failed: 1 });
    const [line] = await fileLines(done.error_file_id);
    expect(line!.response.status_code).toBe(400);
    expect(line!.response.body.error.code).toBe('empty_array');
  });

  it('fails validation with OpenAI error codes and line numbers', async () => {
    const batch = await uploadBatch([
      requestLine('a', 'x'),
      { ...requestLine('a', 'y') },
      { ...requestLine('c', 'z'), url: '/v1/embeddings' },
      { ...requestLine('d', 'w'), body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'w' }] } },
    ]);
    clock.advance(STEP);
    const failed = await openai.batches.retrieve(batch.id);
    expect(failed.status).toBe('failed');
    expect(failed.failed_at).toBe(failed.created_at + 60);
    expect(failed.errors!.data!.map((e) => [e.code, e.line])).toEqual([
      ['duplicate_custom_id', 2],
      ['url_mismatch', 3],
      ['model_mismatch', 4],
    ]);
    expect(failed.output_file_id).toBeNull();

    const file = await openai.files.create({ file: await toFile(Buffer.from('not json\n'), 'broken.jsonl'), purpose: 'batch' });
    const broken = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    clock.advance(STEP);
    expect((await openai.batches.retrieve(broken.id)).errors!.data).toEqual([{ code: 'invalid_json_line', message: 'This line is not parseable as valid JSON.', param: null, line: 1 }]);
  });

  it('enforces the request limit per batch', async () => {
    const batch = await uploadBatch(Array.from({ length: 11 }, (_, i) => requestLine(`r${i}`, 'x')));
    clock.advance(STEP);
    expect((await openai.batches.retrieve(batch.id)).errors!.data![0]!.code).toBe('too_many_tasks');
  });

  it('checks batch parameters synchronously', async () => {
    const file = await openai.files.create({ file: await toFile(jsonl([requestLine('a', 'x')]), 'in.jsonl'), purpose: 'batch' });
    await expect(openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '1h' as '24h' })).rejects.toMatchObject({ status: 400, param: 'completion_window' });
    await expect(openai.batches.create({ input_file_id: 'file-missing', endpoint: '/v1/chat/completions', completion_window: '24h' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(openai.batches.create({ input_file_id: file.id, endpoint: '/v1/responses', completion_window: '24h' })).rejects.toMatchObject({ status: 400, param: 'endpoint' });
  });

  it('cancels with partial results', async () => {
    const batch = await uploadBatch(Array.from({ length: 4 }, (_, i) => requestLine(`r${i}`, `question ${i}`)));
    clock.advance(STEP + STEP / 2);
    const cancelling = await openai.batches.cancel(batch.id);
    expect(cancelling.status).toBe('cancelling');
    expect(cancelling.cancelling_at).toBe(Math.floor(clock.now() / 1000));
    clock.advance(STEP);
    const cancelled = await openai.batches.retrieve(batch.id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.request_counts).toEqual({ total: 4, completed: 2, failed: 2 });
    expect((await fileLines(cancelled.output_file_id)).map((l) => l.custom_id)).toEqual(['r0', 'r1']);
    expect((await fileLines(cancelled.error_file_id)).map((l) => [l.custom_id, l.error.code])).toEqual([
      ['r2', 'batch_cancelled'],
      ['r3', 'batch_cancelled'],
    ]);
    await expect(openai.batches.cancel(batch.id)).rejects.toBeInstanceOf(BadRequestError);
  });

  it('expires a batch that outlives its 24h window', async () => {
    const slow = await startSim({ now: clock.now, batchDelayMs: 20 * HOUR });
    try {
      const client = new OpenAI({ baseURL: `${slow.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
      const file = await client.files.create({ file: await toFile(jsonl(Array.from({ length: 5 }, (_, i) => requestLine(`r${i}`, 'x'))), 'in.jsonl'), purpose: 'batch' });
      const batch = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
      clock.advance(24 * HOUR);
      const expired = await client.batches.retrieve(batch.id);
      expect(expired.status).toBe('expired');
      expect(expired.expired_at).toBe(batch.created_at + 86400);
      expect(expired.request_counts).toEqual({ total: 5, completed: 1, failed: 4 }); // 4h of a 20h run
      const errors = (await (await client.files.content(expired.error_file_id!)).text()).trim().split('\n').map((l) => JSON.parse(l));
      expect(errors[0]).toEqual({
        id: expect.stringMatching(/^batch_req_/),
        custom_id: 'r1',
        response: null,
        error: { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' },
      });
    } finally {
      await slow.close();
    }
  });

  it('completes on the first poll with the default zero delay', async () => {
    const instant = await startSim();
    try {
      const client = new OpenAI({ baseURL: `${instant.url}/v1`, apiKey: 'sk-test', maxRetries: 0 });
      const file = await client.files.create({ file: await toFile(jsonl([requestLine('a', 'x')]), 'in.jsonl'), purpose: 'batch' });
      const created = await client.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
      expect(created).toMatchObject({ status: 'validating', output_file_id: null, request_counts: { total: 0, completed: 0, failed: 0 } });
      const done = await client.batches.retrieve(created.id);
      expect(done).toMatchObject({ status: 'completed', request_counts: { total: 1, completed: 1, failed: 0 }, error_file_id: null });
      expect(done.output_file_id).toMatch(/^file-/);

      const messages = new Anthropic({ baseURL: instant.url, apiKey: 'k', maxRetries: 0 });
      const batch = await messages.messages.batches.create({ requests: [{ custom_id: 'a', params: { model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] } }] });
      expect(batch).toMatchObject({ processing_status: 'in_progress', results_url: null });
      expect((await messages.messages.batches.retrieve(batch.id)).processing_status).toBe('ended');
    } finally {
      await instant.close();
    }
  });

  it('lists batches newest first with cursor pagination', async () => {
    const ids = [];
    for await (const batch of openai.batches.list({ limit: 2 })) ids.push(batch.id);
    expect(ids.length).toBeGreaterThanOrEqual(6);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('Anthropic message batches', () => {
  const params = (content: string, extra: Record<string, unknown> = {}) => ({ model: 'claude-haiku-4-5', max_tokens: 200, messages: [{ role: 'user' as const, content }], ...extra });

  it('processes requests and serves JSONL results', async () => {
    const batch = await anthropic.messages.batches.create({
      requests: [
        { custom_id: 'ok-1', params: params('Hello') },
        { custom_id: 'bad-params', params: { model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'x' }] } as never },
        { custom_id: 'overloaded', params: params('Busy [[sim:fault=529]]') },
        { custom_id: 'ok-2', params: params('Hello again') },
      ],
    });
    expect(batch).toMatchObject({
      type: 'message_batch',
      processing_status: 'in_progress',
      request_counts: { processing: 4, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
      ended_at: null,
      results_url: null,
      archived_at: null,
      cancel_initiated_at: null,
      created_at: new Date(clock.now()).toISOString(),
      expires_at: new Date(clock.now() + 24 * HOUR).toISOString(),
    });
    expect(batch.id).toMatch(/^msgbatch_01/);
    await expect(anthropic.messages.batches.results(batch.id)).rejects.toThrow(/No batch `results_url`/);

    clock.advance(STEP / 2);
    expect((await anthropic.messages.batches.retrieve(batch.id)).request_counts).toEqual({ processing: 2, succeeded: 1, errored: 1, canceled: 0, expired: 0 });
    clock.advance(STEP / 2);
    const ended = await anthropic.messages.batches.retrieve(batch.id);
    expect(ended.processing_status).toBe('ended');
    expect(ended.ended_at).toBe(new Date(clock.now()).toISOString());
    expect(ended.request_counts).toEqual({ processing: 0, succeeded: 2, errored: 2, canceled: 0, expired: 0 });
    expect(ended.results_url).toBe(`${sim.url}/v1/messages/batches/${batch.id}/results`);

    const results: Anthropic.Messages.MessageBatchIndividualResponse[] = [];
    for await (const result of await anthropic.messages.batches.results(batch.id)) results.push(result);
    expect(results.map((r) => [r.custom_id, r.result.type])).toEqual([
      ['ok-1', 'succeeded'],
      ['bad-params', 'errored'],
      ['overloaded', 'errored'],
      ['ok-2', 'succeeded'],
    ]);
    const succeeded = results[0]!.result as Anthropic.Messages.MessageBatchSucceededResult;
    expect(succeeded.message.usage.service_tier).toBe('batch');
    const sync = await anthropic.messages.create(params('Hello'));
    expect(succeeded.message.content).toEqual(sync.content);
    expect({ ...succeeded.message.usage, service_tier: 'standard' }).toEqual(sync.usage);
    expect((results[1]!.result as Anthropic.Messages.MessageBatchErroredResult).error).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'max_tokens: Field required' },
    });
    expect((results[2]!.result as Anthropic.Messages.MessageBatchErroredResult).error.error.type).toBe('overloaded_error');

    expect(await anthropic.messages.batches.delete(batch.id)).toEqual({ id: batch.id, type: 'message_batch_deleted' });
  });

  it('cancels: canceling, then ended with canceled results', async () => {
    const batch = await anthropic.messages.batches.create({ requests: Array.from({ length: 4 }, (_, i) => ({ custom_id: `r${i}`, params: params(`q${i}`) })) });
    clock.advance(STEP / 4);
    const canceling = await anthropic.messages.batches.cancel(batch.id);
    expect(canceling.processing_status).toBe('canceling');
    expect(canceling.cancel_initiated_at).toBe(new Date(clock.now()).toISOString());
    await expect(anthropic.messages.batches.delete(batch.id)).rejects.toBeInstanceOf(AnthropicBadRequest);
    clock.advance(STEP);
    const ended = await anthropic.messages.batches.retrieve(batch.id);
    expect(ended.processing_status).toBe('ended');
    expect(ended.request_counts).toEqual({ processing: 0, succeeded: 1, errored: 0, canceled: 3, expired: 0 });
    const types = [];
    for await (const result of await anthropic.messages.batches.results(batch.id)) types.push(result.result.type);
    expect(types).toEqual(['succeeded', 'canceled', 'canceled', 'canceled']);
    await expect(anthropic.messages.batches.cancel(batch.id)).rejects.toBeInstanceOf(AnthropicBadRequest);
  });

  it('enforces request-count and size limits and unique custom ids', async () => {
    const many = Array.from({ length: 11 }, (_, i) => ({ custom_id: `r${i}`, params: params('x') }));
    await expect(anthropic.messages.batches.create({ requests: many })).rejects.toThrow(/requests: List should have at most 10 items after validation, not 11/);
    const huge = [{ custom_id: 'big', params: params('x'.repeat(70 * 1024)) }];
    const tooLarge = await anthropic.messages.batches.create({ requests: huge }).catch((e: unknown) => e);
    expect(tooLarge).toBeInstanceOf(ContentTooLargeError);
    expect((tooLarge as ContentTooLargeError).error).toMatchObject({ type: 'error', error: { type: 'request_too_large' } });
    const duplicate = [{ custom_id: 'same', params: params('x') }, { custom_id: 'same', params: params('y') }];
    await expect(anthropic.messages.batches.create({ requests: duplicate })).rejects.toBeInstanceOf(AnthropicBadRequest);
  });

  it('lists batches with pagination', async () => {
    await anthropic.messages.batches.create({ requests: [{ custom_id: 'a', params: params('x') }] });
    await anthropic.messages.batches.create({ requests: [{ custom_id: 'a', params: params('y') }] });
    const ids = [];
    for await (const batch of anthropic.messages.batches.list({ limit: 1 })) ids.push(batch.id);
    expect(ids.length).toBeGreaterThanOrEqual(3);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
