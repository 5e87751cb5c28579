export { benchChart } from './chart.js';
export { type BenchCommandOptions, type BenchReport, printBench, runBench } from './commands/bench.js';
export { type DevicesReport, devicesReport, printDevices } from './commands/devices.js';
export { printSample, type SampleOptions, type SampleReport, sampleFile } from './commands/sample.js';
export { CliError, EXIT, InputFileError } from './errors.js';
export { type LogitsMatrix, readLogitsFile, readNpy, readRaw, readSafetensors } from './input-file.js';
export { createProgram, run } from './program.js';
