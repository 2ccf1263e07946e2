// Specs for nodes/session/config/values.ts: values from flows, msgs and brokers, whatever their type, and names that may be anything.
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { asText, blank, ownValue, unset } from '../nodes/session/config/values';

describe('values', () => {
  it('reads a flow value as text: strings as they are, numbers and booleans spelled out, anything else empty', () => {
    assert.deepEqual([asText('a b'), asText(1.5), asText(false), asText(null), asText(undefined), asText({}), asText(['x'])], ['a b', '1.5', 'false', '', '', '', '']);
    fc.assert(fc.property(fc.anything(), (v) => typeof asText(v) === 'string'));
  });

  it('finds only the table’s own names, never constructor, __proto__ or toString from Object.prototype', () => {
    const table: Record<string, number> = { a: 1 };
    assert.equal(ownValue(table, 'a'), 1);
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'b']) assert.equal(ownValue(table, name), undefined, name);
  });

  it('is unset when missing, null or empty, and blank when unset or spaces only; 0 and false are set', () => {
    assert.deepEqual([undefined, null, '', ' ', 0, false, 'x'].map(unset), [true, true, true, false, false, false, false]);
    assert.deepEqual([undefined, null, '', ' \t', 0, false, ' x '].map(blank), [true, true, true, true, false, false, false]);
  });
});
