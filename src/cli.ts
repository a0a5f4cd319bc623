import { buildProgram } from './cli/program.js';
import { describeFailure } from './cli/exit-codes.js';

async function main(): Promise<void> {
  try {
    await buildProgram(process.env).parseAsync(process.argv);
  } catch (err) {
    const { exitCode, message } = describeFailure(err);
    if (message) process.stderr.write(`biovec: ${message}\n`);
    process.exitCode = exitCode;
  }
}

await main();
