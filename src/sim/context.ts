/** Shared state of one running sim: options, clock, faults, statistics, caches, files and batches. */

import type { ServerResponse } from 'node:http';
import { AnthropicBatchStore } from './anthropic/batches';
import { FaultRegistry } from './faults';
import { IdFactory } from './hash';
import type { ResolvedSimOptions } from './options';
import { OpenAIBatchStore } from './openai/batches';
import { FileStore } from './openai/files';
import { BreakpointCache, TokenPrefixCache } from './prompt-cache';

export interface SimStats {
  /** Requests received on provider routes (control routes under `/_sim/` are not counted). */
  requests: number;
  /** Per route template, e.g. `POST /v1/chat/completions`, `POST /model/{modelId}/converse`. */
  byRoute: Record<string, number>;
  /** Per requested model, for requests whose body (or path) named one. */
  byModel: Record<string, number>;
}

export class StatsRecorder {
  private requests = 0;
  private byRoute = new Map<string, number>();
  private byModel = new Map<string, number>();

  recordRoute(route: string): void {
    this.requests++;
    this.byRoute.set(route, (this.byRoute.get(route) ?? 0) + 1);
  }

  recordModel(model: string): void {
    this.byModel.set(model, (this.byModel.get(model) ?? 0) + 1);
  }

  snapshot(): SimStats {
    return {
      requests: this.requests,
      byRoute: Object.fromEntries(this.byRoute),
      byModel: Object.fromEntries(this.byModel),
    };
  }

  reset(): void {
    this.requests = 0;
    this.byRoute.clear();
    this.byModel.clear();
  }
}

export class SimContext {
  readonly ids = new IdFactory();
  readonly faults = new FaultRegistry();
  readonly stats = new StatsRecorder();
  readonly openaiPromptCache: TokenPrefixCache;
  readonly anthropicPromptCache: BreakpointCache;
  readonly bedrockPromptCache: BreakpointCache;
  readonly files = new FileStore();
  readonly openaiBatches = new OpenAIBatchStore();
  readonly anthropicBatches = new AnthropicBatchStore();
  /** Responses held open by the `timeout` fault, released when the sim closes. */
  readonly heldResponses = new Set<ServerResponse>();

  constructor(readonly options: ResolvedSimOptions) {
    this.openaiPromptCache = new TokenPrefixCache(options.now);
    this.anthropicPromptCache = new BreakpointCache(options.now);
    this.bedrockPromptCache = new BreakpointCache(options.now);
  }

  now(): number {
    return this.options.now();
  }

  /** Unix seconds on the injected clock. */
  nowSeconds(): number {
    return Math.floor(this.options.now() / 1000);
  }

  reset(): void {
    this.ids.reset();
    this.faults.clear();
    this.stats.reset();
    this.openaiPromptCache.clear();
    this.anthropicPromptCache.clear();
    this.bedrockPromptCache.clear();
    this.files.clear();
    this.openaiBatches.clear();
    this.anthropicBatches.clear();
  }
}
