import { Option, type Command } from 'commander';
import { configSchema, ENV_NAMES, flagName, loadConfig, type Config, type ConfigKey } from '../config.js';

/** Adds one flag per config key, described from the schema, so --help and the README table cannot drift. */
export function addConfigOptions(command: Command): Command {
  for (const [key, schema] of Object.entries(configSchema.shape) as [ConfigKey, { description?: string }][]) {
    const isBoolean = key === 'hfHubOffline';
    const option = new Option(isBoolean ? flagName(key) : `${flagName(key)} <value>`, `${schema.description ?? ''} [env ${ENV_NAMES[key]}]`);
    command.addOption(option);
  }
  return command;
}

/** Reads the effective config from the environment and the flags given to `command` or its parents. */
export function configFrom(command: Command, env: Record<string, string | undefined>): Config {
  const opts = command.optsWithGlobals() as Partial<Record<ConfigKey, unknown>>;
  const flags: Partial<Record<ConfigKey, unknown>> = {};
  for (const key of Object.keys(configSchema.shape) as ConfigKey[]) {
    if (opts[key] !== undefined) flags[key] = opts[key];
  }
  return loadConfig(env, flags);
}
