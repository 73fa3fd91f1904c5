#!/usr/bin/env node
// The `bhembed` executable: parse, run, report. Everything else lives in main.ts and commands/.
import { handleError } from './handle-error.js';
import { run } from './main.js';

run(process.argv).catch(handleError);
