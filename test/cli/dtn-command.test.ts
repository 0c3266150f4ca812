// `orbitfed dtn listen` and `orbitfed dtn send` as an operator runs them, one against the other
// over each convergence layer on 127.0.0.1 (the listener on a free port, read from its stderr).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { encodeMtcpPdu } from '../../dtn/mtcp.ts';
import { runCli } from './run-cli.ts';

interface RunningCli {
  readonly done: Promise<number>;
  stdout(): string;
  stderr(): string;
}

function startCli(args: readonly string[]): RunningCli {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => { out += d.toString(); });
  stderr.on('data', (d: Buffer) => { err += d.toString(); });
  return { done: main(args, { stdout, stderr }), stdout: () => out, stderr: () => err };
}

async function listening(cli: RunningCli): Promise<number> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const match = /listening on \w+:127\.0\.0\.1:(\d+) as /.exec(cli.stderr());
    if (match !== null) return Number(match[1]);
    if (Date.now() > deadline) throw new Error(`the listener did not start: ${cli.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const directory = mkdtempSync(join(tmpdir(), 'orbitfed-dtn-cli-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('orbitfed dtn', () => {
  describe.each(['tcpclv4', 'tcpclv3', 'mtcp'])('over %s', (cla) => {
    it('send delivers one bundle that listen prints as a JSON line', async () => {
      const listener = startCli(['dtn', 'listen', '--cla', `${cla}:127.0.0.1:0`, '--eid', 'ipn:2.1', '--count', '1']);
      const port = await listening(listener);
      expect(listener.stderr()).toContain(`listening on ${cla}:127.0.0.1:${port} as ipn:2.0`);

      const sent = await runCli(['dtn', 'send', '--cla', `${cla}:127.0.0.1:${port}`, '--src', 'ipn:1.1', '--dst', 'ipn:2.1', '--payload', 'hello', '--crc', '16']);

      expect(sent.code, sent.stderr).toBe(0);
      expect(JSON.parse(sent.stdout)).toMatchObject({ cla, peer: `127.0.0.1:${port}`, source: 'ipn:1.1', destination: 'ipn:2.1', bundleBytes: expect.any(Number) });
      expect(await listener.done).toBe(0);
      const printed = JSON.parse(listener.stdout()) as Record<string, unknown>;
      expect(printed).toMatchObject({ source: 'ipn:1.1', destination: 'ipn:2.1', sequence: '0', lifetimeMs: 86_400_000, payloadBytes: 5, payload: 'hello', payloadEncoding: 'utf8' });
      expect(Date.parse(printed.created as string)).toBeGreaterThan(Date.parse('2025-01-01T00:00:00Z'));
      if (cla !== 'mtcp') expect(printed.from).toBe('ipn:1.0');
      if (cla === 'mtcp') expect(sent.stderr).toContain('MTCP has no acknowledgement');
    });
  });

  it('takes dtn:// EIDs and a binary payload from a file, printed as hex', async () => {
    const file = join(directory, 'payload.bin');
    writeFileSync(file, Buffer.from([0xde, 0xad, 0xbe, 0xef, 0xff]));
    const listener = startCli(['dtn', 'listen', '--cla', 'tcpclv4:127.0.0.1:0', '--eid', 'dtn://ground/inbox', '--count', '1']);
    const port = await listening(listener);
    expect(listener.stderr()).toContain('as dtn://ground/');

    const sent = await runCli(['dtn', 'send', '--cla', `tcpclv4:127.0.0.1:${port}`, '--src', 'dtn://sat/out', '--dst', 'dtn://ground/inbox', '--payload', `@${file}`, '--lifetime', '60']);

    expect(sent.code, sent.stderr).toBe(0);
    expect(await listener.done).toBe(0);
    expect(JSON.parse(listener.stdout())).toMatchObject({ source: 'dtn://sat/out', destination: 'dtn://ground/inbox', lifetimeMs: 60_000, payload: 'deadbeefff', payloadEncoding: 'hex', from: 'dtn://sat/' });
  });

  it('listen refuses bytes that are not a BPv7 bundle, says so on stderr, and keeps listening', async () => {
    const listener = startCli(['dtn', 'listen', '--cla', 'mtcp:127.0.0.1:0', '--eid', 'ipn:2.1', '--count', '1']);
    const port = await listening(listener);
    const socket = new Socket();
    await new Promise<void>((resolve) => socket.connect({ host: '127.0.0.1', port }, () => resolve()));
    socket.write(encodeMtcpPdu(new TextEncoder().encode('not a bundle')));
    socket.end();
    for (const deadline = Date.now() + 5_000; !listener.stderr().includes('refused') && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 2));

    const sent = await runCli(['dtn', 'send', '--cla', `mtcp:127.0.0.1:${port}`, '--src', 'ipn:1.1', '--dst', 'ipn:2.1', '--payload', 'real']);

    expect(sent.code).toBe(0);
    expect(await listener.done).toBe(0);
    expect(listener.stderr()).toMatch(/refused 12 bytes from 127\.0\.0\.1:\d+: .*\[ORBITFED_BUNDLE_/);
    expect(JSON.parse(listener.stdout())).toMatchObject({ payload: 'real' });
  });

  it('send exits 1 and names the peer when nothing listens there', async () => {
    const { code, stdout, stderr } = await runCli(['dtn', 'send', '--cla', 'tcpclv4:127.0.0.1:1', '--src', 'ipn:1.1', '--dst', 'ipn:2.1', '--payload', 'x']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/not delivered to tcpclv4:127\.0\.0\.1:1: .*\[ORBITFED_CL_DISCONNECTED\]/);
  });

  it('answers --help and orbitfed help dtn', async () => {
    const help = await runCli(['dtn', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('orbitfed dtn listen --cla CLA:HOST:PORT');
    expect((await runCli(['help', 'dtn'])).stdout).toContain('tcpclv3   RFC 7242');
    expect((await runCli(['--help'])).stdout).toMatch(/dtn\s+exchange bundles with DTN nodes/);
  });

  describe('refuses bad input with a message naming what was wrong', () => {
    const cases: [string, string[], RegExp][] = [
      ['no subcommand', ['dtn', 'ping'], /unknown dtn subcommand 'ping'/],
      ['a missing --cla', ['dtn', 'listen', '--eid', 'ipn:2.1'], /--cla is required/],
      ['an unknown convergence layer', ['dtn', 'listen', '--cla', 'udp:127.0.0.1:4556', '--eid', 'ipn:2.1'], /--cla must be one of tcpclv4, tcpclv3, mtcp/],
      ['an address without port', ['dtn', 'listen', '--cla', 'tcpclv4:127.0.0.1', '--eid', 'ipn:2.1'], /--cla: .*no port|is not host:port/],
      ['a malformed EID', ['dtn', 'send', '--cla', 'mtcp:127.0.0.1:4224', '--src', 'ipn:1', '--dst', 'ipn:2.1', '--payload', 'x'], /--src: .*ipn:<node>\.<service>/],
      ['dtn:none as a node', ['dtn', 'listen', '--cla', 'mtcp:127.0.0.1:0', '--eid', 'dtn:none'], /must name a node/],
      ['a CRC that is neither 16 nor 32', ['dtn', 'send', '--cla', 'mtcp:127.0.0.1:4224', '--src', 'ipn:1.1', '--dst', 'ipn:2.1', '--payload', 'x', '--crc', '8'], /--crc must be one of 16, 32/],
      ['a missing payload file', ['dtn', 'send', '--cla', 'mtcp:127.0.0.1:4224', '--src', 'ipn:1.1', '--dst', 'ipn:2.1', '--payload', '@/nonexistent/payload'], /\/nonexistent\/payload.*no such file/],
      ['a count of 0', ['dtn', 'listen', '--cla', 'mtcp:127.0.0.1:0', '--eid', 'ipn:2.1', '--count', '0'], /--count must be a number from 1/],
    ];
    for (const [what, args, message] of cases) {
      it(`for ${what}`, async () => {
        const { code, stderr } = await runCli(args);
        expect(code).toBe(2);
        expect(stderr).toMatch(message);
        expect(stderr).not.toMatch(/\n\s+at /);
      });
    }
  });
});
