// The exported graph's input and output names, apart from the exporter so the browser bundle (src/web/) can build
// feeds for an exported graph without bundling the exporter.

/** The graph's output: one click probability per row, float32 [N]. */
export const OUTPUT_NAME = 'probability';
/** The dense input ([N, numDense] float32), when the model has dense inputs. */
export const DENSE_INPUT = 'dense';
/** Suffix of a multi-valued field's count input: `${field}${COUNT_SUFFIX}`, int64 [N]. */
export const COUNT_SUFFIX = '_count';
/** Suffix of a weighted field's value-weight input (libsvm/libfm/libffm values): `${field}${WEIGHT_SUFFIX}`, float32. */
export const WEIGHT_SUFFIX = '_weight';
