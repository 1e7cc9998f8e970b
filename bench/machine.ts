/**
 * The machine a run happened on: CPU model and count, memory, kernel,
 * Deno and Java versions, load, date. Read through child processes, since
 * Deno needs `--allow-all` to read /proc itself.
 *
 * @module
 */

/** Where a run happened. */
export interface Machine {
  /** CPU model name. */
  cpu: string;
  /** Logical CPUs. */
  cores: number;
  /** Total memory, GB (10^9 bytes). */
  memoryGB: number;
  /** `uname -sr`. */
  kernel: string;
  /** Deno version. */
  deno: string;
  /** `java -version` first line, or "none". */
  java: string;
  /** 1-minute load average when the run started. */
  load: number;
  /** ISO date and time of the run. */
  date: string;
}

async function text(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return dec.decode(out.stdout) + dec.decode(out.stderr);
  } catch {
    return "";
  }
}

/** Parses `/proc/cpuinfo`: model name and processor count. */
export function parseCpuinfo(info: string): { cpu: string; cores: number } {
  const cpu = /^model name\s*:\s*(.+)$/m.exec(info)?.[1].trim() ?? "unknown";
  const cores = (info.match(/^processor\s*:/gm) ?? []).length;
  return { cpu, cores };
}

/** The 1-minute load average (NaN when unknown). */
export async function loadAverage(): Promise<number> {
  return Number((await text("cat", ["/proc/loadavg"])).split(" ")[0] || NaN);
}

/** Describes this machine. */
export async function describeMachine(): Promise<Machine> {
  const info = parseCpuinfo(await text("cat", ["/proc/cpuinfo"]));
  const mem = /^MemTotal:\s+(\d+) kB/m.exec(
    await text("cat", ["/proc/meminfo"]),
  );
  const load = await loadAverage();
  const java = (await text("java", ["-version"])).split("\n")[0].trim();
  return {
    cpu: info.cpu,
    cores: info.cores || navigator.hardwareConcurrency,
    memoryGB: mem ? Math.round(Number(mem[1]) * 1024 / 1e8) / 10 : NaN,
    kernel: (await text("uname", ["-sr"])).trim() || Deno.build.os,
    deno: Deno.version.deno,
    java: java || "none",
    load,
    date: new Date().toISOString(),
  };
}

/** One line: `2 × Intel(R) Xeon(R) Processor, 24.1 GB, Linux …, …`. */
export function formatMachine(m: Machine): string {
  return `${m.cores} × ${m.cpu}, ${m.memoryGB} GB RAM, ${m.kernel}, Deno ${m.deno}, ${m.java}; load ${m.load} at start; ${m.date}`;
}
