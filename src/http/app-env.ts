import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from '../lib/logger.js';

export interface AppEnv {
  Variables: {
    requestId: string;
    logger: Logger;
    /** Stage timings (ms) collected for the access line and Server-Timing. */
    timings: Record<string, number>;
  };
}

export type App = OpenAPIHono<AppEnv>;
