import { formatMarker, parseMarker } from '../src/admin/marker';

describe('markers', () => {
  it('round-trips a marker and ignores comments that are not pgwork markers', () => {
    const marker = { kind: 'worker' as const, run: 'abcdefgh', template: 't', created: '2026-01-01T00:00:00.000Z' };
    expect(parseMarker(formatMarker(marker))).toEqual(marker);
    expect(parseMarker('my database')).toBeUndefined();
    expect(parseMarker('pgwork:v1 {broken')).toBeUndefined();
    expect(parseMarker('pgwork:v1 {"kind":"other","run":"x"}')).toBeUndefined();
    expect(parseMarker(null)).toBeUndefined();
  });
});
