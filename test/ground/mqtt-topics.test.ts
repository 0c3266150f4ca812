// The topic layout and the validation of operators' blackout messages, without a broker.
import { describe, expect, it } from 'vitest';
import { OrbitfedError } from '../../common/index.ts';
import { BLACKOUT_PAYLOAD_BYTES_MAX, parseBlackoutMessage, stationTopics } from '../../ground/index.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('station topics', () => {
  it('puts every topic under orbitfed/<station>/', () => {
    expect(stationTopics('gs-kiruna-1')).toEqual({
      status: 'orbitfed/gs-kiruna-1/status',
      pass: 'orbitfed/gs-kiruna-1/pass',
      track: 'orbitfed/gs-kiruna-1/track',
      telemetry: 'orbitfed/gs-kiruna-1/telemetry',
      blackout: 'orbitfed/gs-kiruna-1/blackout',
    });
  });

  it.each(['', 'a/b', 'x+', '#', 'with space', 'x'.repeat(65)])('refuses the station id %j, which cannot be one topic level', (id) => {
    expect(() => stationTopics(id)).toThrow(OrbitfedError);
    try {
      stationTopics(id);
    } catch (error) {
      expect((error as OrbitfedError).code).toBe('ORBITFED_MQTT_STATION_ID');
    }
  });
});

describe('blackout messages', () => {
  it('accepts a maintenance window with start, end and reason', () => {
    const result = parseBlackoutMessage(bytes('{"startMs":1781395200000,"endMs":1781398800000,"reason":"antenna bearing replacement"}'));
    expect(result).toEqual({ ok: true, blackout: { startMs: 1781395200000, endMs: 1781398800000, reason: 'antenna bearing replacement' } });
  });

  const malformed: [string, string | Uint8Array, string, RegExp][] = [
    ['not JSON', '{startMs: 1}', 'ORBITFED_BLACKOUT_NOT_JSON', /not JSON/],
    ['truncated JSON', '{"startMs":1781395200000,"endMs":17813', 'ORBITFED_BLACKOUT_NOT_JSON', /not JSON/],
    ['a JSON array', '[1,2]', 'ORBITFED_BLACKOUT_INVALID', /payload/],
    ['JSON null', 'null', 'ORBITFED_BLACKOUT_INVALID', /payload/],
    ['a missing reason', '{"startMs":1781395200000,"endMs":1781398800000}', 'ORBITFED_BLACKOUT_INVALID', /reason/],
    ['an empty reason', '{"startMs":1781395200000,"endMs":1781398800000,"reason":""}', 'ORBITFED_BLACKOUT_INVALID', /reason/],
    ['start as a string', '{"startMs":"1781395200000","endMs":1781398800000,"reason":"x"}', 'ORBITFED_BLACKOUT_INVALID', /startMs.*"1781395200000"/],
    ['a fractional start', '{"startMs":1.5,"endMs":1781398800000,"reason":"x"}', 'ORBITFED_BLACKOUT_INVALID', /startMs/],
    ['a negative start', '{"startMs":-1,"endMs":1781398800000,"reason":"x"}', 'ORBITFED_BLACKOUT_INVALID', /startMs/],
    ['an unknown field', '{"startMs":1,"endMs":2,"reason":"x","station":"KIRUNA"}', 'ORBITFED_BLACKOUT_INVALID', /station/],
    ['end before start', '{"startMs":1781398800000,"endMs":1781395200000,"reason":"x"}', 'ORBITFED_BLACKOUT_INVALID', /endMs 1781395200000 must be after startMs 1781398800000/],
    ['end equal to start', '{"startMs":1781398800000,"endMs":1781398800000,"reason":"x"}', 'ORBITFED_BLACKOUT_INVALID', /must be after/],
    ['a window of two years', '{"startMs":0,"endMs":63072000000,"reason":"x"}', 'ORBITFED_BLACKOUT_INVALID', /longer than/],
    ['bytes that are not UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 'ORBITFED_BLACKOUT_NOT_UTF8', /UTF-8/],
    ['an oversized payload', `{"startMs":1,"endMs":2,"reason":"${'x'.repeat(BLACKOUT_PAYLOAD_BYTES_MAX)}"}`, 'ORBITFED_BLACKOUT_TOO_LARGE', /at most 4096/],
  ];

  it.each(malformed)('refuses %s with a precise reason', (_what, payload, code, message) => {
    const result = parseBlackoutMessage(typeof payload === 'string' ? bytes(payload) : payload);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe(code);
    expect(result.message).toMatch(message);
  });
});
