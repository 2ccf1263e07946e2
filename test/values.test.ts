// Specs for nodes/session/config/values.ts: values from flows, msgs and brokers, whatever their type, and names that may be anything.
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { asText, blank, numberOf, ownValue, textOf, unset } from '../nodes/session/config/values';

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

  it('reads any value as a number or as text without throwing: an object whose toString is not a function, a Symbol, null prototypes', () => {
    const hostile: unknown[] = [{ toString: '' }, { valueOf: 1, toString: null }, Symbol('s'), Object.create(null), { [Symbol.toPrimitive]: 5 }];
    for (const v of hostile) {
      assert.ok(Number.isNaN(numberOf(v)));
      assert.equal(typeof textOf(v), 'string');
    }
    assert.deepEqual([numberOf('2'), numberOf(2), numberOf(true), numberOf(''), textOf(2), textOf(new Error('e'))], [2, 2, 1, 0, '2', 'Error: e']);
    fc.assert(fc.property(fc.anything({ withObjectString: true, withNullPrototype: true, withBoxedValues: true }), (v) => typeof numberOf(v) === 'number' && typeof textOf(v) === 'string'));
  });
});
