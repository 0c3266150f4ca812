// The machine a benchmark ran on, as recorded next to the numbers in BENCHMARKS.md.
import { readFile } from 'node:fs/promises';
import os from 'node:os';

export interface MachineDescription {
  readonly cpuModel: string;
  readonly logicalCores: number;
  readonly memoryGiB: number;
  readonly nodeVersion: string;
  readonly os: string;
  /** 1-minute load average when the description was taken: other processes skew wall times. */
  readonly loadAverage1Min: number;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The `model name` of the first processor in /proc/cpuinfo (Linux), else what Node reports. */
async function cpuModel(): Promise<string> {
  const cpuinfo = await readOptional('/proc/cpuinfo');
  const model = cpuinfo === undefined ? undefined : /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim();
  return model ?? os.cpus()[0]?.model.trim() ?? 'unknown';
}

/** The distribution's PRETTY_NAME (from /etc/os-release) with the kernel, else just the kernel. */
async function osName(): Promise<string> {
  const kernel = `${os.type()} ${os.release()} ${os.arch()}`;
  const release = await readOptional('/etc/os-release');
  const pretty = release === undefined ? undefined : /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(release)?.[1];
  return pretty === undefined ? kernel : `${pretty} (${kernel})`;
}

export async function describeMachine(): Promise<MachineDescription> {
  return {
    cpuModel: await cpuModel(),
    logicalCores: os.availableParallelism(),
    memoryGiB: os.totalmem() / 1024 ** 3,
    nodeVersion: process.version,
    os: await osName(),
    loadAverage1Min: os.loadavg()[0] ?? 0,
  };
}
