import { Option, type Command } from 'commander';
import { createApiKey, listApiKeys, revokeApiKey, type Scope } from '../auth/api-keys.js';
import { withCatalog } from './with-stores.js';
import { configFrom } from './config-options.js';

/** `biovec keys create|list|revoke`: API keys live in the catalog, hashed. */
export function addKeyCommands(program: Command, env: Record<string, string | undefined>): void {
  const keys = program.command('keys').description('Manage API keys (stored hashed in the catalog; the token is shown once)');
  keys
    .command('create')
    .description('Create a key; prints the token once')
    .addOption(new Option('--scope <scope>', 'read: search and embeddings; write: also documents, imports, collections; admin: also deleting collections').choices(['read', 'write', 'admin']).makeOptionMandatory())
    .option('--name <name>', 'a note saying whose key it is', 'unnamed')
    .option('--rate-limit <perMinute>', 'requests a minute (burst the same)', '600')
    .action(async (o: { scope: Scope; name: string; rateLimit: string }, cmd: Command) => {
      await withCatalog(configFrom(cmd, env), async ({ db }) => {
        const { token, key } = await createApiKey(db, { name: o.name, scope: o.scope, rateLimitPerMinute: Number(o.rateLimit) });
        process.stdout.write(`${token}\n`);
        process.stderr.write(`biovec: key ${key.prefix} (${key.scope}, ${key.rateLimitPerMinute}/min) created; store the token now, it is not kept\n`);
      });
    });
  keys
    .command('list')
    .description('List keys (never their secrets)')
    .action(async (_o: unknown, cmd: Command) => {
      await withCatalog(configFrom(cmd, env), async ({ db }) => {
        for (const k of await listApiKeys(db)) {
          process.stdout.write(`${JSON.stringify({ id: k.id, prefix: k.prefix, name: k.name, scope: k.scope, rate_limit_per_minute: k.rateLimitPerMinute, created_at: k.createdAt, revoked_at: k.revokedAt })}\n`);
        }
      });
    });
  keys
    .command('revoke')
    .description('Revoke a key by id or prefix (servers notice within 30 s)')
    .argument('<key>', 'id or prefix')
    .action(async (key: string, _o: unknown, cmd: Command) => {
      await withCatalog(configFrom(cmd, env), async ({ db }) => {
        const row = await revokeApiKey(db, key);
        process.stderr.write(`biovec: key ${row.prefix} revoked\n`);
      });
    });
}
