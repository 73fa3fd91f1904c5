// `bhembed export`: a model file as one ONNX graph (src/export/), so onnxruntime in any language (or the browser)
// scores it. Prints what the graph takes and gives; the preprocessing from raw values to ids is docs/index-spec.md.

import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { EXPORT_OPSET, exportOnnx } from '../../export/onnx-model.js';
import { readModelFile, writeFileAtomic } from '../../models/model-file.js';
import { checkNotInput, checkOutputFile } from '../common.js';
import { formatBytes } from '../progress.js';

interface ExportFlags {
  output?: string;
  multi?: string;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('export')
    .description('write a model file as one ONNX graph (opset 18): hash ids per field in, click probability out')
    .argument('<model>', 'model file (.bhm)')
    .option('-o, --output <file>', 'the ONNX file to write (required)')
    .option('--multi <fields>', "comma-separated fields fed as [N, L] ids plus a '<field>_count' input (default: the multi-valued fields of the training data)")
    .option('-q, --quiet', 'print nothing')
    .addHelpText('after', '\nExample:\n  bhembed export model.bhm -o model.onnx\n\nInputs: one int64 tensor of XXH64 hash ids per field (docs/index-spec.md §1), float32 "dense" [N, numDense]; output "probability" [N].')
    .action((model: string, flags: ExportFlags) => {
      if (flags.output === undefined) throw new UsageError('export: give the ONNX file to write with -o <file>');
      checkOutputFile('--output', flags.output);
      checkNotInput('--output', flags.output, { 'model file': model });
      const file = readModelFile(model);
      let multiValued: boolean[] | undefined;
      if (flags.multi !== undefined) {
        const fieldNames = (file.model as { fields?: { name?: string }[] }).fields?.map((f, i) => f.name ?? `f${i}`) ?? [];
        const names = flags.multi.split(',').filter((s) => s !== '');
        for (const n of names) if (!fieldNames.includes(n)) throw new UsageError(`--multi: '${n}' is not a field of ${model}; fields: ${fieldNames.join(', ')}`);
        multiValued = fieldNames.map((n) => names.includes(n));
      }
      const out = exportOnnx(file, { multiValued });
      writeFileAtomic(flags.output, out.bytes);
      if (flags.quiet) return;
      const lines = [`wrote ${flags.output} (${formatBytes(out.bytes.length)}, ONNX opset ${EXPORT_OPSET}, ${out.config.arch}): inputs`];
      for (const x of out.inputs) lines.push(`  ${x.name.padEnd(24)} ${x.type.padEnd(8)} [${x.dims.join(', ')}]${x.kind === 'count' ? '  values used of each row' : x.kind === 'weight' ? '  each value\'s weight' : ''}`);
      lines.push(`output\n  ${out.output.padEnd(24)} float32  [N]`);
      process.stderr.write(`${lines.join('\n')}\n`);
    });
}
