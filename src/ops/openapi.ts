import { z } from 'zod';
import { BudgetInput } from '../budgets/budgets';
import { FamilyEntry, ModelOverride } from '../catalog/types';
import { ChatRequest } from '../gateway/chat';
import { GROUP_DIMENSIONS } from '../reports/dimensions';
import { CreateKeyInput, UpdateKeyInput } from '../keys/keys';
import { CreateWebhookInput, UpdateWebhookInput } from '../webhooks/endpoints';

/**
 * The OpenAPI 3.1 description of Sluice's own API (admin, the principal's /v1/sluice routes and
 * operations). Request bodies come from the same zod schemas the routes validate with, so the
 * document cannot drift from what is enforced. The provider front doors (/v1/chat/completions,
 * /v1/messages, /model/{id}/converse) follow the providers' own published specifications.
 */

type Param = { name: string; in: 'query' | 'path'; required?: boolean; description: string; schema: Record<string, unknown> };
type Operation = {
  summary: string;
  tags: string[];
  parameters?: Param[];
  requestBody?: { required: true; content: { 'application/json': { schema: unknown } } };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
  security?: Array<Record<string, string[]>>;
};

const string = { type: 'string' };
const instant = { type: 'string', description: 'ISO 8601 timestamp with offset, or a UTC date (YYYY-MM-DD)' };
const path = (name: string, description: string): Param => ({ name, in: 'path', required: true, description, schema: string });
const query = (name: string, description: string, schema: Record<string, unknown> = string): Param => ({ name, in: 'query', description, schema });
const page = [query('limit', 'page size', { type: 'integer', minimum: 1 }), query('cursor', 'next_cursor from the previous page')];
const range = [query('from', 'start, inclusive', instant), query('to', 'end, exclusive', instant)];
const groupByHelp = `comma-separated dimensions: ${GROUP_DIMENSIONS.join(', ')} or tag:<name>`;

function body(schema: z.ZodType): Operation['requestBody'] {
  return { required: true, content: { 'application/json': { schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) } } };
}

const json = (description: string): Operation['responses'][string] => ({ description, content: { 'application/json': { schema: { type: 'object' } } } });
const errors: Operation['responses'] = {
  '400': json('invalid input: {"error": {"message", "type", "param", "code"}}'),
  '401': json('missing or wrong key'),
  '404': json('not found'),
};

function op(summary: string, tags: string[], extra: Partial<Operation> = {}, ok: Operation['responses'] = { '200': json('OK') }): Operation {
  return { summary, tags, ...extra, responses: { ...ok, ...errors } };
}

function buildDocument(): Record<string, unknown> {
  const admin = ['admin'];
  const paths: Record<string, Record<string, Operation>> = {
    '/admin/keys': {
      post: op('Create a key (the secret is in this answer only)', admin, { requestBody: body(CreateKeyInput) }, { '201': json('the key, with `key`, the secret') }),
      get: op('List keys, newest first', admin, { parameters: [query('team', 'only this team'), query('include_revoked', 'true to include revoked keys'), ...page] }),
    },
    '/admin/keys/{id}': {
      get: op('Read a key', admin, { parameters: [path('id', 'key id')] }),
      patch: op('Update a key', admin, { parameters: [path('id', 'key id')], requestBody: body(UpdateKeyInput) }),
      delete: op('Revoke a key', admin, { parameters: [path('id', 'key id')] }),
    },
    '/admin/keys/{id}/revoke': { post: op('Revoke a key', admin, { parameters: [path('id', 'key id')] }) },
    '/admin/catalog': { get: op('The catalog in effect: models with prices (USD per million tokens) and family ladders', admin) },
    '/admin/catalog/models/{id}': {
      put: op('Override (or add) a model', admin, { parameters: [path('id', 'model id')], requestBody: body(ModelOverride.partial({ id: true })) }),
      delete: op('Remove an override', admin, { parameters: [path('id', 'model id')] }, { '204': { description: 'removed' } }),
    },
    '/admin/catalog/families/{name}': {
      put: op('Override (or add) a family ladder', admin, { parameters: [path('name', 'family name')], requestBody: body(FamilyEntry.partial({ name: true })) }),
      delete: op('Remove a family override', admin, { parameters: [path('name', 'family name')] }, { '204': { description: 'removed' } }),
    },
    '/admin/usage/events': { get: op('Ledger events, newest first', admin, { parameters: [...range, query('key_id', 'only this key'), ...page] }) },
    '/admin/usage/caching': {
      get: op('Response-cache and prompt-cache figures per principal', admin, { parameters: [...range, query('group_by', 'key or team')] }),
    },
    '/admin/budgets': {
      post: op('Create a budget', admin, { requestBody: body(BudgetInput) }, { '201': json('the budget') }),
      get: op('List budgets with their current spend', admin),
    },
    '/admin/budgets/{id}': {
      get: op('Read a budget', admin, { parameters: [path('id', 'budget id')] }),
      patch: op('Update a budget', admin, { parameters: [path('id', 'budget id')], requestBody: body(BudgetInput) }),
      delete: op('Delete a budget', admin, { parameters: [path('id', 'budget id')] }),
    },
    '/admin/alerts': { get: op('Budget alerts, newest first', admin, { parameters: [query('budget_id', 'only this budget'), ...range, ...page] }) },
    '/admin/alerts/{id}': { get: op('Read an alert', admin, { parameters: [path('id', 'alert id')] }) },
    '/admin/webhooks': {
      post: op('Register a webhook endpoint (the whsec_ secret is in this answer only)', admin, { requestBody: body(CreateWebhookInput) }, { '201': json('the endpoint, with `secret`') }),
      get: op('List webhook endpoints', admin),
    },
    '/admin/webhooks/{id}': {
      get: op('Read an endpoint', admin, { parameters: [path('id', 'endpoint id')] }),
      patch: op('Update an endpoint', admin, { parameters: [path('id', 'endpoint id')], requestBody: body(UpdateWebhookInput) }),
      delete: op('Delete an endpoint', admin, { parameters: [path('id', 'endpoint id')] }),
    },
    '/admin/webhooks/{id}/test': { post: op('Send a test event', admin, { parameters: [path('id', 'endpoint id')] }) },
    '/admin/webhooks/{id}/deliveries': { get: op('The delivery log of an endpoint', admin, { parameters: [path('id', 'endpoint id')] }) },
    '/admin/reports/chargeback': {
      get: op(
        'The chargeback report over [from, to): JSON, CSV (RFC 4180) or FOCUS 1.2 CSV (downloads with Content-Disposition)',
        admin,
        { parameters: [...range, query('group_by', groupByHelp), query('format', 'json (default), csv or focus (fixed grain: no group_by)', { type: 'string', enum: ['json', 'csv', 'focus'] })] },
        { '200': { description: 'the report', content: { 'application/json': { schema: { type: 'object' } }, 'text/csv': { schema: string } } } },
      ),
    },
    '/admin/reports/forecast': { get: op("This month's spend so far and its month-end forecast (linear trend, approximate 95% band)", admin) },
    '/admin/reports/anomalies': {
      get: op('Days whose spend was anomalous per principal (robust z-score); default the last 30 days by key', admin, {
        parameters: [...range, query('by', 'key (default), user, team or project', { type: 'string', enum: ['key', 'user', 'team', 'project'] })],
      }),
    },
    '/admin/reports/exports': { get: op('The monthly exports and their files, newest first', admin) },
    '/v1/sluice/usage': {
      get: op("The calling key's own usage over [from, to), in the chargeback report's shape (never another key's)", ['principal'], {
        parameters: [...range, query('group_by', groupByHelp), query('format', 'json (default) or csv', { type: 'string', enum: ['json', 'csv'] })],
        security: [{ sluiceKey: [] }],
      }),
    },
    '/v1/sluice/route/explain': {
      post: op('Explain the routing decision for a chat body, without calling an upstream', ['principal'], { requestBody: body(ChatRequest), security: [{ sluiceKey: [] }] }),
    },
    '/v1/sluice/deferred': { get: op("This key's deferred (batch) requests", ['principal'], { security: [{ sluiceKey: [] }] }) },
    '/v1/sluice/deferred/{id}': {
      get: op('A deferred request: status and, when done, the answer in the caller\'s format', ['principal'], { parameters: [path('id', 'deferred id')], security: [{ sluiceKey: [] }] }),
    },
    '/v1/sluice/deferred/{id}/cancel': {
      post: op('Cancel a queued deferred request', ['principal'], { parameters: [path('id', 'deferred id')], security: [{ sluiceKey: [] }] }),
    },
    '/healthz': { get: { summary: 'Liveness and database reachability', tags: ['operations'], security: [], responses: { '200': json('ok'), '503': json('database unreachable') } } },
    '/metrics': {
      get: { summary: 'Prometheus metrics (text exposition format 0.0.4)', tags: ['operations'], security: [], responses: { '200': { description: 'metrics', content: { 'text/plain': { schema: string } } } } },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Sluice',
      version: '0.1.0',
      description:
        'Cost-optimizing gateway for LLM APIs. The provider front doors (POST /v1/chat/completions, GET /v1/models, POST /v1/messages, POST /model/{modelId}/converse and /converse-stream) speak the providers\' own protocols and are documented by them. Money is integer nano-USD (1e-9 USD) unless a field says USD.',
    },
    components: {
      securitySchemes: {
        adminKey: { type: 'http', scheme: 'bearer', description: 'the admin key (SLUICE_ADMIN_KEY)' },
        sluiceKey: { type: 'http', scheme: 'bearer', description: 'a Sluice key (sk-sluice-...), also accepted as x-api-key' },
      },
    },
    security: [{ adminKey: [] }],
    paths,
  };
}

let document: Record<string, unknown> | undefined;

/** Built once, on first request. */
export function openApiDocument(): Record<string, unknown> {
  document ??= buildDocument();
  return document;
}
