// The training defaults of ModelOptions (pipeline.ts) and the CLI's flags: defined once in core/defaults.ts, which
// the trainer and optimizers read too.
export { TRAINING_DEFAULTS } from '../core/defaults.js';
