import type { ProviderId } from '../catalog/types';
import { anthropicAdapter } from './anthropic';
import { bedrockAdapter } from './bedrock';
import { openaiAdapter } from './openai';
import type { ProviderAdapter } from './types';

const adapters: Partial<Record<ProviderId, ProviderAdapter>> = {
  openai: openaiAdapter,
  anthropic: anthropicAdapter,
  bedrock: bedrockAdapter,
};

/** The adapter for a provider, or undefined when this build cannot call it yet. */
export function adapterFor(provider: ProviderId): ProviderAdapter | undefined {
  return adapters[provider];
}
