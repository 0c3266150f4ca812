// Administrative records (RFC 9171 §6.1): bundle status reports in and out of bundle payloads.
import { describe, expect, it } from 'vitest';
import {
  adminRecordBundle,
  adminRecordOf,
  decodeAdminRecord,
  encodeAdminRecord,
  STATUS_REPORT_REASON,
  statusReportAbout,
  type BundleStatusReport,
} from '../../dtn/admin-record.ts';
import { NO_BUNDLE_FLAGS, type Bundle } from '../../dtn/bundle.ts';
import { decodeBundle, encodeBundle } from '../../dtn/bundle-codec.ts';
import { encodeCbor } from '../../dtn/cbor.ts';
import { dtnTimeMs } from '../../dtn/dtn-time.ts';
import { eidToCbor, ipnEid } from '../../dtn/eid.ts';
import { codeOf, CREATED, fromHex, sampleBundle, toHex } from './sample-bundles.ts';

const subject = sampleBundle();
const fragmentSubject: Bundle = { ...subject, primary: { ...subject.primary, fragment: { offsetBytes: 100, totalAduLengthBytes: 1000 } } };
const withStatusTime = (bundle: Bundle): Bundle => ({ ...bundle, primary: { ...bundle.primary, flags: { ...bundle.primary.flags, statusTimeRequested: true } } });

describe('bundle status reports', () => {
  it('encodes the §6.1.1 layout: [1, [[status items], reason, source, [time, seq]]]', () => {
    const report = statusReportAbout(subject, { received: dtnTimeMs(5000) }, STATUS_REPORT_REASON.noAdditionalInformation);
    // 82 01                      [record type 1,
    //   84                         [
    //     84 81f5 81f4 81f4 81f4     [[true], [false], [false], [false]]   (no times: the subject asked for none)
    //     00                         reason 0
    //     82 02 82 01 01             source ipn:1.1
    //     82 1b 000000bdc1c91600 07  creation [815000000000, 7]
    expect(toHex(encodeAdminRecord(report))).toBe('820184' + '8481f581f481f481f4' + '00' + '8202820101' + '821b000000bdc1c9160007');
  });

  it('includes status times only when the subject asked for them, and only for asserted statuses', () => {
    const report = statusReportAbout(withStatusTime(subject), { forwarded: dtnTimeMs(42), deleted: dtnTimeMs(43) }, STATUS_REPORT_REASON.hopLimitExceeded);
    expect(report.forwarded).toEqual({ asserted: true, atDtnTimeMs: 42 });
    expect(report.received).toEqual({ asserted: false });
    expect(toHex(encodeAdminRecord(report)).slice(6, 24)).toBe('8481f482f5182a81f4'); // [[false], [true, 42], [false], …
  });

  it('carries the subject fragment\'s offset and payload length when the subject is a fragment (§6.2)', () => {
    const report = statusReportAbout(fragmentSubject, { delivered: dtnTimeMs(1) }, STATUS_REPORT_REASON.noAdditionalInformation);
    expect(report.subjectFragment).toEqual({ offsetBytes: 100, payloadLengthBytes: 5 });
    expect(decodeAdminRecord(encodeAdminRecord(report))).toEqual(report);
  });

  it('round-trips every reason code of Table 1 and a later one', () => {
    for (const reasonCode of [...Object.values(STATUS_REPORT_REASON), 200]) {
      const report = statusReportAbout(withStatusTime(subject), { received: dtnTimeMs(1), forwarded: dtnTimeMs(2), delivered: dtnTimeMs(3), deleted: dtnTimeMs(4) }, reasonCode);
      expect(decodeAdminRecord(encodeAdminRecord(report))).toEqual(report);
    }
  });

  it('travels as the payload of a bundle with the admin-record flag, which asks for no status reports', () => {
    const report = statusReportAbout(subject, { deleted: dtnTimeMs(9) }, STATUS_REPORT_REASON.lifetimeExpired);
    const bundle = adminRecordBundle(report, { destination: subject.primary.reportTo, source: ipnEid(3, 0), creation: { dtnTimeMs: CREATED, sequence: 1n }, lifetimeMs: 60_000 });
    expect(bundle.primary.flags).toEqual({ ...NO_BUNDLE_FLAGS, isAdminRecord: true });
    expect(adminRecordOf(decodeBundle(encodeBundle(bundle)))).toEqual(report);
  });

  it('reads the status items after the first four and drops them (§6.1.1: "at least four")', () => {
    const bytes = fromHex('820184' + '8581f581f481f481f481f5' + '00' + '8202820101' + '8200 00'.replace(' ', ''));
    expect(decodeAdminRecord(bytes)).toMatchObject({ kind: 'status-report', received: { asserted: true } });
  });
});

describe('other administrative record types', () => {
  it('keeps their content as CBOR bytes and writes them back unchanged', () => {
    const bytes = fromHex('8204a1016161'); // [4, {1: "a"}]
    const record = decodeAdminRecord(bytes);
    expect(record).toEqual({ kind: 'other', recordType: 4, contentCbor: fromHex('a1016161') });
    expect(toHex(encodeAdminRecord(record))).toBe('8204a1016161');
  });

  it('refuses to write content that is not exactly one CBOR item', () => {
    expect(codeOf(() => encodeAdminRecord({ kind: 'other', recordType: 4, contentCbor: fromHex('0101') }))).toBe('ORBITFED_ADMIN_RECORD_FIELD');
  });
});

describe('malformed administrative records', () => {
  const good = encodeAdminRecord(statusReportAbout(subject, { received: dtnTimeMs(1) }, 0));
  const cases: [string, string, string][] = [
    ['a record that is not [type, content]', '83010203', 'ORBITFED_ADMIN_RECORD_FIELD'],
    ['a status report of 5 items', '820185' + '8481f581f481f481f4' + '00' + '8202820101' + '82000000', 'ORBITFED_ADMIN_RECORD_FIELD'],
    ['status information of 3 items', '820184' + '8381f581f481f4' + '00' + '8202820101' + '820000', 'ORBITFED_ADMIN_RECORD_FIELD'],
    ['a time on a status that is not asserted', '820184' + '8482f40181f481f481f4' + '00' + '8202820101' + '820000', 'ORBITFED_ADMIN_RECORD_FIELD'],
    ['a status indicator that is not a boolean', '820184' + '84810181f481f481f4' + '00' + '8202820101' + '820000', 'ORBITFED_ADMIN_RECORD_FIELD'],
    ['a non-shortest reason code', '820184' + '8481f581f481f481f4' + '1800' + '8202820101' + '820000', 'ORBITFED_ADMIN_RECORD_CBOR'],
    ['trailing bytes', toHex(good) + '00', 'ORBITFED_ADMIN_RECORD_FIELD'],
    ['a truncated record', toHex(good).slice(0, -2), 'ORBITFED_ADMIN_RECORD_TRUNCATED'],
  ];
  for (const [what, hex, code] of cases) {
    it(`refuses ${what}`, () => expect(codeOf(() => decodeAdminRecord(fromHex(hex)))).toBe(code));
  }

  it('refuses payloads above the size limit before reading them', () => {
    expect(codeOf(() => decodeAdminRecord(new Uint8Array(70_000)))).toBe('ORBITFED_ADMIN_RECORD_TOO_LARGE');
  });

  it('refuses to read a record from a bundle without the admin-record flag, or from a fragment', () => {
    expect(codeOf(() => adminRecordOf(subject))).toBe('ORBITFED_ADMIN_RECORD_FLAG');
    const adminFragment: Bundle = { ...fragmentSubject, primary: { ...fragmentSubject.primary, flags: { ...NO_BUNDLE_FLAGS, isAdminRecord: true } } };
    expect(codeOf(() => adminRecordOf(adminFragment))).toBe('ORBITFED_ADMIN_RECORD_FLAG');
  });

  it('reads a report whose subject source is any EID form', () => {
    const report: BundleStatusReport = { ...statusReportAbout(subject, {}, 3), subjectSource: ipnEid(2n ** 64n - 1n, 0) };
    expect(toHex(encodeAdminRecord(report))).toContain(toHex(encodeCbor(eidToCbor(ipnEid(2n ** 64n - 1n, 0)))));
    expect(decodeAdminRecord(encodeAdminRecord(report))).toEqual(report);
  });
});
