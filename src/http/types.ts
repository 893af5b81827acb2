import type { Services } from '../gateway/services';
import type { Principal } from '../keys/keys';

/** The wire protocol a route speaks; errors are rendered in it. */
export type Protocol = 'openai' | 'anthropic' | 'bedrock' | 'admin';

export interface AppEnv {
  Variables: {
    services: Services;
    requestId: string;
    /** performance.now() when the request arrived, for latency. */
    startedHr: number;
    protocol: Protocol;
    principal: Principal;
  };
}
