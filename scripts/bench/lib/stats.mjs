// Small statistics and formatting helpers shared by the bench scenarios.
export const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Quantiles of a sample (nearest rank). */
export function quantiles(samples) {
  const xs = Float64Array.from(samples).sort();
  const q = (p) => (xs.length === 0 ? NaN : xs[Math.min(xs.length - 1, Math.max(0, Math.ceil(p * xs.length) - 1))]);
  return { n: xs.length, p50: q(0.5), p99: q(0.99), p999: q(0.999), max: xs.length ? xs[xs.length - 1] : NaN };
}

export const now = () => performance.now();

export function fmt(v, digits) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (typeof v !== "number") return String(v);
  if (digits !== undefined) return v.toFixed(digits);
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US");
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  if (Math.abs(v) >= 1) return v.toFixed(2);
  return v.toFixed(3);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** VmRSS / VmHWM of a live process in MB (Linux /proc), or null. */
import { readFileSync } from "node:fs";
export function procMem(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k) => {
      const m = new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s);
      return m ? Number(m[1]) / 1024 : null;
    };
    return { rssMb: kb("VmRSS"), hwmMb: kb("VmHWM") };
  } catch {
    return { rssMb: null, hwmMb: null };
  }
}

/**
 * CPU time (user + system, all threads) a live process has used so far, in microseconds
 * (Linux /proc/<pid>/stat fields 14 and 15, in clock ticks of 10 ms), or null.
 */
export function procCpuUs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name (field 2) may hold spaces: count fields after its closing parenthesis
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * 10_000;
  } catch {
    return null;
  }
}

/** Bytes a live process has caused to be written to storage so far (Linux /proc/<pid>/io write_bytes), or null. */
export function procWriteBytes(pid) {
  try {
    const m = /^write_bytes:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
