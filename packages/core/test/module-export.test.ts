import { pickExport } from '../src/shared/module-export';

describe('picking the export of a project module', () => {
  const isFn = (value: unknown): value is () => void => typeof value === 'function';
  const wanted = { accepts: isFn, what: 'seed function', usual: ['default', 'seed'], option: 'export default' };
  const a = () => undefined;
  const b = () => undefined;

  it('takes the named export, else the usual names in order, else the module itself, else the only one', () => {
    expect(pickExport({ default: a, seed: b }, wanted)).toBe(a);
    expect(pickExport({ seed: b, helper: 1 }, wanted)).toBe(b);
    expect(pickExport(a, wanted)).toBe(a); // module.exports = fn
    expect(pickExport({ seedUsers: a, count: 3 }, wanted)).toBe(a);
    expect(pickExport({ default: a, other: b }, { ...wanted, name: 'other' })).toBe(b);
  });

  it('says what it looked for when the named export, or any, is missing, or several qualify', () => {
    expect(() => pickExport({ default: a }, { ...wanted, name: 'other' })).toThrow(
      'the module has no seed function export named other',
    );
    expect(() => pickExport({ one: a, two: b }, wanted)).toThrow(
      'the module exports 2 seed functions; name one with export default',
    );
    expect(() => pickExport({ data: [] }, { ...wanted, example: 'export default async () => {}' })).toThrow(
      'the module exports no seed function (export default async () => {})',
    );
    expect(() => pickExport(undefined, wanted)).toThrow('the module exports no seed function');
  });
});
