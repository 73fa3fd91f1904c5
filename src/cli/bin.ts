#!/usr/bin/env node
// The `bhembed` executable: parse, run, report. Everything else lives in main.ts and commands/.
import { handleError, quietOnClosedPipe } from './handle-error.js';
import { exitCleanlyOnSignals } from './interrupt.js';
import { run } from './main.js';

quietOnClosedPipe(process.stdout);
exitCleanlyOnSignals();
run(process.argv).catch(handleError);
