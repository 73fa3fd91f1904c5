// One check for "this data has the reference's columns": by name and order, not only by count (an Avazu file with
// two columns swapped has the right count and would feed one field's values to the other's table). Shared by
// serve/ (a model's training fields), train/ (--valid/--test against --train) and cli/.
import { DataError } from '../core/errors.js';

export interface FieldLayout {
  readonly fieldNames: readonly string[];
  readonly denseNames: readonly string[];
}

/**
 * Throws DataError `file: field 4 is 'app_id' here but 'site_id' in <ref>; …` at the first field (then dense input)
 * whose name differs from the reference's, or is missing on either side.
 */
export function checkSameFields(file: string, got: FieldLayout, ref: string, want: FieldLayout): void {
  for (const [kind, a, b] of [['field', got.fieldNames, want.fieldNames], ['dense input', got.denseNames, want.denseNames]] as const) {
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (a[i] !== b[i]) {
        const here = a[i] === undefined ? 'missing' : `'${a[i]}'`;
        const there = b[i] === undefined ? 'absent' : `'${b[i]}'`;
        throw new DataError(`${file}: ${kind} ${i + 1} is ${here} here but ${there} in ${ref}; the columns must match in name and order`, {
          file,
          field: i + 1,
        });
      }
    }
  }
}
