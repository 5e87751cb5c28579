// After every test, one turn of the event loop. Tests that run child processes synchronously
// (the CLI's) or compute for long keep a worker's loop blocked from one test to the next; the
// runner's replies to the worker wait in the queue meanwhile, and past vitest's RPC timeout the
// run can fail with `Timeout calling "onTaskUpdate"` although every test passed (it did once,
// in the CLI's package on a loaded 2-core machine: its 55 tests spend 52 s mostly waiting on
// synchronous child processes; not reproduced since). One turn between tests lets them through.
import { afterEach } from 'vitest';

afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));
