#!/usr/bin/env node
// The `bhembed` executable: parse, run, report. Everything else lives in main.ts and commands/.
import { handleError, quietOnClosedPipe } from './handle-error.js';
import { run } from './main.js';

quietOnClosedPipe(process.stdout);
run(process.argv).catch(handleError);
