import { homedir } from 'node:os';
import { configSchema, ENV_NAMES, flagName, type ConfigKey } from './config.js';

/** The markdown table of every setting: env var, flag, default, meaning. */
export function renderConfigTable(): string {
  const rows = (Object.entries(configSchema.shape) as [ConfigKey, { description?: string }][]).map(
    ([key, schema]) => {
      const fallback = defaultOf(key);
      // Machine-dependent defaults are shown as what they mean, not as this machine's values.
      const text = key === 'threads' ? 'CPU cores' : String(fallback).replace(homedir(), '~');
      const shown = fallback === undefined ? '' : `\`${text}\``;
      return `| \`${ENV_NAMES[key]}\` | \`${flagName(key)}\` | ${shown} | ${(schema.description ?? '').replaceAll('|', '\\|')} |`;
    },
  );
  return ['| env | flag | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

function defaultOf(key: ConfigKey): unknown {
  const parsed = configSchema.shape[key].safeParse(undefined);
  return parsed.success ? parsed.data : undefined;
}
