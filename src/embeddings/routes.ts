import type { AppDeps } from '../app-deps.js';
import type { App } from '../http/app-env.js';
import { registerErsiliaRoutes } from './ersilia-routes.js';
import { registerOpenAiRoutes } from './openai-routes.js';
import { registerTeiRoutes } from './tei-routes.js';

/** OpenAI-compatible, TEI-style and Ersilia-style embedding endpoints over the served model. */
export function registerEmbeddingRoutes(app: App, deps: AppDeps): void {
  registerOpenAiRoutes(app, deps);
  registerTeiRoutes(app, deps);
  registerErsiliaRoutes(app, deps);
}
