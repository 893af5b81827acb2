import { describe, expect, it } from 'vitest';
import { Catalog, SHIPPED_CATALOG } from '../../src/catalog/catalog';
import type { CatalogOverrides } from '../../src/catalog/types';
import { ChatRequest } from '../../src/gateway/chat';
import { parseHints, type RequestHints } from '../../src/gateway/hints';
import type { Principal } from '../../src/keys/keys';
import type { KeyPolicy } from '../../src/keys/policy';
import { explainRoute } from '../../src/routing/explain';
import { resolveRoute, routingMode, type RouteDecision } from '../../src/routing/resolve';
import { ConversationMemory } from '../../src/routing/sticky';
import { SluiceError } from '../../src/errors';

const catalog = new Catalog(SHIPPED_CATALOG);
const EASY = 'Say hello.';
const HARD = 'Let f(x) = x^3 - 3x + 1. Find all real roots exactly, prove they are real using the discriminant, and compute the Galois group of f over Q, justifying each step.';
const MEDIUM_AND_HARD = [
  'Summarize the plot of Hamlet in three sentences.',
  'Explain the difference between TCP and UDP with examples.',
  'Write a SQL query that finds the second highest salary per department, and explain how it handles ties.',
  HARD,
  'Prove that there are infinitely many primes p such that p+2 is also prime, or explain precisely why this is an open problem.',
  EASY,
  'What is 17 times 23?',
];

function principal(overrides: Partial<Principal> = {}): Principal {
  return { keyId: 'key_1', name: 't', user: null, team: null, project: null, tags: {}, allowedModels: [], allowedFamilies: [], policy: {}, ...overrides };
}

const noHints: RequestHints = parseHints(() => undefined);

function route(body: Partial<ChatRequest> & { content?: string }, options: { policy?: KeyPolicy; hints?: Partial<RequestHints>; principal?: Partial<Principal>; catalog?: Catalog; memory?: ConversationMemory } = {}): RouteDecision {
  const { content, ...rest } = body;
  const request = ChatRequest.parse({ model: 'auto:claude', messages: [{ role: 'user', content: content ?? EASY }], ...rest });
  return resolveRoute({
    catalog: options.catalog ?? catalog,
    principal: principal(options.principal),
    request,
    hints: { ...noHints, ...options.hints },
    policy: options.policy ?? {},
    ...(options.memory ? { conversations: { memory: options.memory, now: 1_000 } } : {}),
  });
}

const ladder = catalog.family('claude')!.models.map((m) => m.id);

describe('auto routing by complexity', () => {
  it('sends an easy prompt to the cheapest rung and a hard one up the ladder', () => {
    const easy = route({ content: EASY });
    expect(easy.model.id).toBe(ladder[0]);
    expect(easy.reason).toBe('score');
    expect(easy.complexity).toBeGreaterThan(0);
    expect(easy.scorerVersion).toBeTruthy();
    expect(easy.baseline.id).toBe(catalog.family('claude')!.baseline.id);
    const hard = route({ content: HARD });
    expect(ladder.indexOf(hard.model.id)).toBeGreaterThan(0);
  });

  it('`auto` is the default family', () => {
    expect(route({ model: 'auto' }).family?.name).toBe(catalog.defaultFamily.name);
  });

  it('unknown families are a 404 naming the families', () => {
    expect(() => route({ model: 'auto:nope' })).toThrowError(/There is no model family "nope"/);
  });

  it('the quality knob moves decisions monotonically, per key and per request', () => {
    for (const content of MEDIUM_AND_HARD) {
      let previous = -1;
      for (const quality of [0, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 1]) {
        const byRequest = ladder.indexOf(route({ content }, { hints: { quality } }).model.id);
        const byKey = ladder.indexOf(route({ content }, { policy: { quality } }).model.id);
        expect(byRequest).toBe(byKey);
        expect(byRequest).toBeGreaterThanOrEqual(previous);
        previous = byRequest;
      }
      expect(ladder.indexOf(route({ content }, { hints: { quality: 1 } }).model.id)).toBe(ladder.length - 1);
      expect(ladder.indexOf(route({ content }, { hints: { quality: 0 } }).model.id)).toBe(0);
    }
  });
});

describe('routing never drops what the request needs', () => {
  const withoutTools: CatalogOverrides = { models: [{ id: ladder[0]!, capabilities: { tools: false, vision: false } }] };
  const limited = new Catalog(SHIPPED_CATALOG, [withoutTools]);
  const tool = { type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object' } } };

  it('a request with tools is never routed to a model without tool support', () => {
    const decision = route({ content: EASY, tools: [tool] }, { catalog: limited });
    expect(decision.model.capabilities.tools).toBe(true);
    expect(decision.model.id).not.toBe(ladder[0]);
    expect(decision.reason).toBe('capability');
    // The same for a conversation that already used tools, without tool definitions in this turn.
    const followUp = resolveRoute({
      catalog: limited,
      principal: principal(),
      request: ChatRequest.parse({
        model: 'auto:claude',
        messages: [
          { role: 'user', content: EASY },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'c1', content: 'ok' },
        ],
      }),
      hints: noHints,
    });
    expect(followUp.model.capabilities.tools).toBe(true);
  });

  it('images need vision, and the context window must fit prompt plus output budget', () => {
    const image = route({ messages: [{ role: 'user', content: [{ type: 'text', text: EASY }, { type: 'image_url', image_url: { url: 'https://e.x/a.png' } }] }] }, { catalog: limited });
    expect(image.model.capabilities.vision).toBe(true);
    const small = new Catalog(SHIPPED_CATALOG, [{ models: [{ id: ladder[0]!, context_window: 1000 }] }]);
    expect(route({ content: EASY, max_tokens: 2000 }, { catalog: small }).model.id).not.toBe(ladder[0]);
    expect(route({ content: EASY, max_tokens: 10 }, { catalog: small }).model.id).toBe(ladder[0]);
  });
});

describe('concrete models', () => {
  const opus = ladder[ladder.length - 1]!;

  it('a key without the downgrade policy always gets the model it named', () => {
    for (const content of MEDIUM_AND_HARD) {
      const decision = route({ model: opus, content });
      expect(decision.model.id).toBe(opus);
      expect(decision.reason).toBe('requested');
      expect(decision.baseline.id).toBe(opus);
    }
  });

  it('with downgrades allowed an easy prompt moves down its own family, and never up', () => {
    expect(route({ model: opus, content: EASY }, { policy: { downgrade: true } }).model.id).toBe(ladder[0]);
    expect(route({ model: ladder[0]!, content: HARD }, { policy: { downgrade: true } }).model.id).toBe(ladder[0]);
    expect(route({ model: 'gpt-4o', content: EASY }, { policy: { downgrade: true } }).model.id).toBe('gpt-4o-mini');
  });

  it('never to a model the key may not use', () => {
    const decision = route({ model: opus, content: EASY }, { policy: { downgrade: true }, principal: { allowedModels: [ladder[1]!, opus] } });
    expect(decision.model.id).toBe(ladder[1]);
    expect(() => route({ model: ladder[0]!, content: EASY }, { principal: { allowedModels: [opus] } })).toThrowError(SluiceError);
  });
});

describe('routing modes', () => {
  it('a header can make routing more conservative than the key policy, never less', () => {
    expect(routingMode({}, undefined)).toBe('auto');
    expect(routingMode({}, 'off')).toBe('off');
    expect(routingMode({ routing: 'shadow' }, 'auto')).toBe('shadow');
    expect(routingMode({ routing: 'off' }, 'shadow')).toBe('off');
  });

  it('shadow computes the decision but serves the requested model', () => {
    const decision = route({ content: EASY }, { hints: { route: 'shadow' } });
    expect(decision.reason).toBe('shadow');
    expect(decision.model.id).toBe(catalog.family('claude')!.baseline.id);
    expect(decision.shadow?.id).toBe(ladder[0]);
    // Shadow on a concrete model shows what a downgrade would do, even without the downgrade policy.
    const concrete = route({ model: ladder[2]!, content: EASY }, { policy: { routing: 'shadow' } });
    expect(concrete.model.id).toBe(ladder[2]);
    expect(concrete.shadow?.id).toBe(ladder[0]);
  });

  it('off serves the family baseline for auto', () => {
    const decision = route({ content: EASY }, { hints: { route: 'off' } });
    expect(decision.model.id).toBe(catalog.family('claude')!.baseline.id);
    expect(decision.reason).toBe('policy');
  });
});

describe('conversation stickiness', () => {
  const longHistory = [
    { role: 'system' as const, content: 'You are a meticulous analyst. Cite sources. '.repeat(800) },
    { role: 'user' as const, content: HARD },
    { role: 'assistant' as const, content: 'Here is the analysis. '.repeat(400) },
  ];

  it('keeps a conversation on its model when moving would lose more cache than it saves', () => {
    const memory = new ConversationMemory();
    // Only Haiku and Sonnet for this key: the hard first turn lands on Sonnet.
    const key = { allowedModels: [ladder[0]!, ladder[1]!] };
    const first = route({ messages: longHistory.slice(0, 2) }, { memory, principal: key });
    expect(first.model.id).toBe(ladder[1]);
    // A short follow-up the scorer (at quality 0) would send to Haiku: re-reading the long history
    // uncached on Haiku costs more than reading it from Sonnet's cache.
    const followUp = { messages: [...longHistory, { role: 'user' as const, content: 'Thanks!' }], max_tokens: 16 };
    expect(route(followUp, { principal: key, hints: { quality: 0 } }).model.id).toBe(ladder[0]);
    const second = route(followUp, { memory, principal: key, hints: { quality: 0 } });
    expect(second.model.id).toBe(ladder[1]);
    expect(second.reason).toBe('sticky');
  });

  it('an explicit session id ties requests together, and moving up always wins', () => {
    const memory = new ConversationMemory();
    const easy = route({ content: EASY }, { memory, hints: { session: 'chat-1' } });
    expect(easy.model.id).toBe(ladder[0]);
    const hard = route({ content: HARD }, { memory, hints: { session: 'chat-1' } });
    expect(ladder.indexOf(hard.model.id)).toBeGreaterThan(0);
    expect(hard.reason).toBe('score');
  });

  it('a short conversation with little to lose moves down to the cheaper model', () => {
    const memory = new ConversationMemory();
    route({ content: HARD }, { memory, hints: { session: 's' } });
    const easy = route({ content: 'ok' }, { memory, hints: { session: 's' } });
    expect(easy.model.id).toBe(ladder[0]);
  });
});

describe('explainRoute', () => {
  it('returns the score, top contributions and priced alternatives', () => {
    const request = ChatRequest.parse({ model: 'auto:claude', messages: [{ role: 'user', content: HARD }], max_tokens: 100 });
    const explained = explainRoute(catalog, principal(), request, noHints, {});
    expect(explained.family).toBe('claude');
    expect(explained.alternatives.map((a) => a.model)).toEqual(ladder);
    expect(explained.contributions.length).toBeGreaterThan(0);
    expect(explained.contributions[0]).toHaveProperty('weight');
    const costs = explained.alternatives.map((a) => Number(a.estimated_cost_usd));
    expect(costs).toEqual([...costs].sort((a, b) => a - b));
    expect(explained.model).toBe(route({ content: HARD, max_tokens: 100 }).model.id);
  });
});
