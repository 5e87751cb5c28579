import { writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { type ConvertOptions, convertLlama2c } from '../llama2c.js';

/** What `rocmforge convert-llama2c --json` prints. */
export interface ConvertReport {
  /** The GGUF file written. */
  file: string;
  /** Its size in bytes. */
  bytes: number;
  /** How its matrices are stored. */
  type: 'f32' | 'f16';
}

/** What `rocmforge convert-llama2c` parses from its command line. */
type ConvertFlags = Required<Pick<ConvertOptions, 'type'>> & Pick<ConvertOptions, 'name'> & { json?: true };

/** Adds `rocmforge convert-llama2c`. */
export function registerConvertLlama2c(program: Command): void {
  program
    .command('convert-llama2c')
    .description('convert a llama2.c checkpoint and tokenizer into a GGUF file for generate')
    .argument('<model.bin>', 'llama2.c checkpoint')
    .argument('<tokenizer>', "llama2.c's tokenizer.bin, or a byte-level BPE tokenizer.json")
    .argument('<out.gguf>', 'the GGUF file to write')
    .option('--name <name>', 'the model name stored in the file')
    .addOption(new Option('--type <type>', 'how matrices are stored').choices(['f32', 'f16']).default('f32'))
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  rocmforge convert-llama2c stories260K.bin tok512.bin stories260K.gguf\n  rocmforge convert-llama2c model.bin tokenizer.json model.gguf --type f16 --name "my model"',
    )
    .action((modelPath: string, tokenizerPath: string, out: string, flags: ConvertFlags) => {
      const gguf = convertLlama2c(modelPath, tokenizerPath, flags);
      writeFileSync(out, gguf);
      if (flags.json) {
        const report: ConvertReport = { file: out, bytes: gguf.length, type: flags.type };
        console.log(JSON.stringify(report, null, 2));
      } else console.log(`wrote ${out}`);
    });
}
