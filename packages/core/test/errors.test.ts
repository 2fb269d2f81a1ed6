import { runInNewContext } from 'node:vm';
import { describeDatabaseError, maskUrl } from '../src/shared/errors';

describe('error text', () => {
  it("quotes Postgres from an ORM wrapper's cause, and a wrapper with its own SQLSTATE as is", () => {
    const pg = Object.assign(new Error('relation "nowhere" does not exist'), { code: '42P01' });
    const wrapper = new Error('Failed query: CREATE TABLE x ()', { cause: pg });
    expect(describeDatabaseError(wrapper)).toBe('relation "nowhere" does not exist (SQLSTATE 42P01)');
    const own = Object.assign(new Error('deadlock detected'), { code: '40P01', cause: pg });
    expect(describeDatabaseError(own)).toBe('deadlock detected (SQLSTATE 40P01)');
    expect(describeDatabaseError(new Error('plain', { cause: new Error('no code') }))).toBe('plain');
  });

  it("quotes Postgres from another realm's error: the app's pg inside Jest's sandbox throws the sandbox's", () => {
    const foreign = runInNewContext(
      `Object.assign(new Error('deadlock detected'), { code: '40P01', detail: 'Process 1 waits.' })`,
    );
    expect(foreign instanceof Error).toBe(false);
    expect(describeDatabaseError(foreign)).toBe('deadlock detected (SQLSTATE 40P01) ; Process 1 waits.');
  });

  it('masks passwords', () => {
    expect(maskUrl('postgres://u:secret@h:1/d')).toBe('postgres://u:***@h:1/d');
    expect(maskUrl('postgres://u:secret@h:notaport/d')).toBe('postgres://u:***@h:notaport/d');
  });
});
