import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pooling } from '../pooling.js';

export interface ModelDefaults {
  pooling: Pooling | undefined;
  normalize: boolean | undefined;
}

/**
 * What a sentence-transformers model says about its own use (1_Pooling/config.json,
 * modules.json), so `--pooling auto` embeds MiniLM or bge the way their authors evaluated
 * them. A plain transformers checkpoint says nothing, and biovec falls back to CLS.
 */
export async function readModelDefaults(dir: string): Promise<ModelDefaults> {
  const readJson = async (file: string): Promise<unknown> => {
    try {
      return JSON.parse(await readFile(join(dir, file), 'utf8'));
    } catch {
      return undefined;
    }
  };
  const poolingConfig = (await readJson('1_Pooling/config.json')) as Record<string, unknown> | undefined;
  const modules = (await readJson('modules.json')) as { type?: string }[] | undefined;
  let pooling: Pooling | undefined;
  if (poolingConfig?.pooling_mode_cls_token === true) pooling = 'cls';
  else if (poolingConfig?.pooling_mode_mean_tokens === true) pooling = 'mean';
  const normalize = Array.isArray(modules)
    ? modules.some((m) => typeof m.type === 'string' && m.type.endsWith('models.Normalize'))
    : undefined;
  return { pooling, normalize };
}
