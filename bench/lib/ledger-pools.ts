import type { EventPools } from '../../test/helpers/ledger-events';

/**
 * A ledger's worth of principals for the benchmarks: `keys` keys in 12 teams and 40 projects with
 * their own tags (env, cost_center), on 8 models from 3 providers. Request tags (a `feature` on
 * some requests) come on top, as in randomEvent.
 */
export function benchPools(keys: number): EventPools {
  return {
    keys: Array.from({ length: keys }, (_, i) => ({
      id: `key_bench_${String(i).padStart(3, '0')}`,
      user: i % 3 === 0 ? null : `user-${i % 60}`,
      team: `team-${i % 12}`,
      project: `project-${i % 40}`,
      tags: { env: i % 5 === 0 ? 'staging' : 'prod', cost_center: `cc-${i % 9}` },
    })),
    models: [
      { id: 'gpt-4o-mini', provider: 'openai', family: 'gpt-4o' },
      { id: 'gpt-4o', provider: 'openai', family: 'gpt-4o' },
      { id: 'gpt-4.1-mini', provider: 'openai', family: 'gpt-4.1' },
      { id: 'claude-haiku-4-5', provider: 'anthropic', family: null },
      { id: 'claude-sonnet-4-5', provider: 'anthropic', family: null },
      { id: 'nova-micro', provider: 'bedrock', family: 'nova' },
      { id: 'nova-lite', provider: 'bedrock', family: 'nova' },
      { id: 'bedrock-claude-haiku-4-5', provider: 'bedrock', family: null },
    ],
  };
}
