export { benchChart } from './chart.js';
export { type BenchCommandOptions, type BenchReport, printBench, runBench } from './commands/bench.js';
export type { ConvertReport } from './commands/convert-llama2c.js';
export { type DevicesReport, devicesReport, printDevices } from './commands/devices.js';
export { type GenerateOptions, type GenerateResult, generate } from './commands/generate.js';
export { printSample, type SampleOptions, type SampleReport, sampleFile } from './commands/sample.js';
export { CliError, EXIT, InputFileError } from './errors.js';
export { type GgufTensor, type GgufTyped, type GgufValue, writeGguf } from './gguf.js';
export {
  type FileDtype,
  type LogitsMatrix,
  readLogitsFile,
  readNpy,
  readRaw,
  readSafetensors,
} from './input-file.js';
export { type ConvertOptions, convertLlama2c } from './llama2c.js';
export { createProgram, run } from './program.js';
