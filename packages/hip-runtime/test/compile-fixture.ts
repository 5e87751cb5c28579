// Compiles test/fixtures/test-kernel.cu for a device with the vendor's compiler.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceInfo } from '../src/index.js';

export function compileTestKernel(info: DeviceInfo): Buffer {
  const source = join(import.meta.dirname, 'fixtures', 'test-kernel.cu');
  const out = join(mkdtempSync(join(tmpdir(), 'rocmforge-kernel-')), 'test-kernel.bin');
  if (info.backend === 'cuda') {
    execFileSync('nvcc', ['--fatbin', `-arch=${info.architecture}`, '-o', out, source], { stdio: 'inherit' });
  } else {
    execFileSync(
      'hipcc',
      ['--genco', `--offload-arch=${info.architecture}`, '-x', 'hip', '-o', out, source],
      {
        stdio: 'inherit',
      },
    );
  }
  return readFileSync(out);
}
