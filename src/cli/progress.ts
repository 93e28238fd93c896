/**
 * The progress bar of the long-running offline commands (audit, export, import, backup), drawn
 * on stderr with cli-progress: by default only when stderr is a terminal (so pipes, files and CI
 * logs stay clean); `--progress` forces it (one line every 2 s on a non-terminal), `--no-progress`
 * turns it off. cli-progress is imported only when a bar is drawn.
 */
import type { Command } from "commander";

export interface ProgressFlags {
  /** true: --progress; false: --no-progress; undefined: when stderr is a terminal */
  progress?: boolean;
}

export interface Progress {
  /** false: nothing is drawn (callers skip work done only for the bar, such as counting rows) */
  readonly active: boolean;
  /** `total` undefined: the amount is unknown (a counter without a bar) */
  update(done: number, total?: number): void;
  stop(): void;
}

const NONE: Progress = { active: false, update: () => {}, stop: () => {} };

/** --progress / --no-progress on a subcommand. */
export function progressOptions(cmd: Command): Command {
  return cmd
    .option("--progress", "draw the progress bar on stderr even when it is not a terminal")
    .option("--no-progress", "never draw the progress bar (default: drawn when stderr is a terminal)");
}

/** A bar labelled `label`, counting `unit`; a no-op unless wanted (see the file comment). */
export async function progressBar(label: string, unit: string, flags: ProgressFlags): Promise<Progress> {
  const wanted = flags.progress ?? process.stderr.isTTY === true;
  if (!wanted) return NONE;
  const { SingleBar, Presets } = await import("cli-progress");
  let bar: import("cli-progress").SingleBar | null = null;
  return {
    active: true,
    update(done, total) {
      if (bar === null) {
        const known = total !== undefined;
        bar = new SingleBar(
          {
            stream: process.stderr,
            format: known ? `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | ETA {eta_formatted}` : `${label} {value} ${unit}`,
            hideCursor: process.stderr.isTTY === true,
            clearOnComplete: process.stderr.isTTY === true,
            etaBuffer: 50,
            noTTYOutput: true,
          },
          Presets.shades_classic,
        );
        bar.start(known ? Math.max(total, done) : 0, done);
        return;
      }
      if (total !== undefined && total !== bar.getTotal()) bar.setTotal(Math.max(total, done));
      bar.update(done);
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}
