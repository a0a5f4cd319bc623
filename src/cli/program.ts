import { Command, Option } from 'commander';
import { addConfigOptions, configFrom } from './config-options.js';
import { runEmbedCommand } from './embed-command.js';
import { EXIT_CODE_HELP } from './exit-codes.js';
import { checkInputFile, checkOutputFile } from './input-file.js';
import { createLoadHooks, loadEmbedderForCli } from './load-for-cli.js';
import { describeModel } from './model-command.js';
import { runErsiliaCsv } from './run-command.js';
import { addStoreCommands } from './store-commands.js';
import { checkStoresFree } from './with-stores.js';
import { addDataCommands } from './data-commands.js';
import { addKeyCommands } from './key-commands.js';
import { addEvalCommands } from './eval-commands.js';
import { addVersionCommands } from './version-commands.js';
import type { OnnxEmbedder } from '../embedding/onnx-embedder.js';

type Env = Record<string, string | undefined>;

async function withEmbedder<T>(command: Command, env: Env, work: (embedder: OnnxEmbedder) => Promise<T>): Promise<T> {
  const embedder = await loadEmbedderForCli(configFrom(command, env));
  try {
    return await work(embedder);
  } finally {
    await embedder.close();
  }
}

/** The whole `biovec` command tree; `env` is where settings come from besides the flags. */
export function buildProgram(env: Env): Command {
  const program = new Command('biovec')
    .description('Biomedical text embeddings (default: eos1086, BioMed-RoBERTa CLS vectors) and semantic search')
    .version('0.1.0')
    .showHelpAfterError()
    // Usage errors become CommanderErrors that cli.ts maps to exit 2 (commander would exit 1,
    // the code of an unready environment). Set before the subcommands, which inherit it.
    .exitOverride()
    // Settings are flags of the root command that every command reads: its --help must list them.
    .configureHelp({ showGlobalOptions: true });
  addConfigOptions(program);
  program.addHelpText('after', `\n${EXIT_CODE_HELP}`);

  program
    .command('embed')
    .description('Embed texts: one per line, or JSONL objects; writes JSONL {index, id?, embedding, tokens, dropped_tokens}')
    .argument('[file]', 'input file (default: stdin)')
    .option('-o, --output <file>', 'output file (default: stdout)')
    .addOption(new Option('--format <format>', 'input format').choices(['auto', 'lines', 'jsonl']).default('auto'))
    .option('--text-field <name>', 'JSONL field holding the text', 'text')
    .option('--id-field <name>', 'JSONL field copied to the output as id', 'id')
    .option('--no-truncate', 'refuse inputs longer than the model limit instead of truncating them')
    .addOption(new Option('--prompt <role>', 'put the model\'s query or document prompt before each text (bge: an instruction before queries)').choices(['query', 'document']))
    .action(async (file: string | undefined, o: { output?: string; format: 'auto' | 'lines' | 'jsonl'; textField: string; idField: string; truncate: boolean; prompt?: 'query' | 'document' }, cmd: Command) => {
      await checkInputFile(file);
      await checkOutputFile(o.output);
      await withEmbedder(cmd, env, async (embedder) => {
        const prefix = o.prompt ? embedder.info.prompts[o.prompt] : undefined;
        const { count } = await runEmbedCommand({ embedder, input: file, output: o.output, format: o.format, textField: o.textField, idField: o.idField, truncate: o.truncate, prefix });
        process.stderr.write(`biovec: embedded ${count} input(s) with ${embedder.info.modelId}\n`);
      });
    });

  program
    .command('run')
    .description('Ersilia-style run: CSV with an "input" column in, CSV key,input,dim_000.. out')
    .requiredOption('-i, --input <file>', 'input CSV')
    .requiredOption('-o, --output <file>', 'output CSV')
    .option('--column <name>', 'input column', 'input')
    .option('--no-truncate', 'refuse inputs longer than the model limit instead of truncating them')
    .action(async (o: { input: string; output: string; column: string; truncate: boolean }, cmd: Command) => {
      await checkInputFile(o.input);
      await checkOutputFile(o.output);
      await withEmbedder(cmd, env, async (embedder) => {
        const { rows } = await runErsiliaCsv({ embedder, input: o.input, output: o.output, column: o.column, truncate: o.truncate });
        process.stderr.write(`biovec: wrote ${rows} row(s) to ${o.output}\n`);
      });
    });

  addStoreCommands(program, env);
  addDataCommands(program, env);
  addKeyCommands(program, env);
  addEvalCommands(program, env);
  addVersionCommands(program, env);

  program
    .command('serve')
    .description('Serve the HTTP API (default http://127.0.0.1:8080; /docs for the API); every setting below applies')
    .action(async (_o: unknown, cmd: Command) => {
      const config = configFrom(cmd, env);
      // Before the model: a second server on the same data dir would load it only to find the lock.
      await checkStoresFree(config, { index: true });
      const { startServer } = await import('../main.js');
      // The first start downloads and converts the model (tens of seconds): say so as it goes.
      const hooks = createLoadHooks();
      const server = await startServer(config, { hooks }).finally(() => hooks.stop());
      process.stderr.write(`biovec: serving ${server.url} (docs at ${server.url}/docs)\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      await server.close();
      // close() keeps its deadline by giving up on stuck work (an inference mid-batch); exit
      // rather than let that work hold the process past it.
      process.exit(process.exitCode ?? 0);
    });

  const model = program.command('model').description('Fetch and inspect models');
  model
    .command('pull')
    .description('Download a model (hub layout, resumable) and convert it to ONNX, ready for offline use')
    .argument('[id]', 'hub id or directory (default: --model)')
    .action(async (id: string | undefined, _o: unknown, cmd: Command) => {
      if (id) cmd.parent!.parent!.setOptionValue('model', id);
      await withEmbedder(cmd, env, async (embedder) => {
        process.stdout.write(`${JSON.stringify(describeModel(embedder))}\n`);
      });
    });
  model
    .command('info')
    .description('Load the configured model and print what it produces (dims, pooling, max tokens, revision)')
    .action(async (_o: unknown, cmd: Command) => {
      await withEmbedder(cmd, env, async (embedder) => {
        process.stdout.write(`${JSON.stringify(describeModel(embedder), null, 2)}\n`);
      });
    });
  return program;
}
