/**
 * A ws block over one raw WebSocket. Each `>` frame is sent once the previous step is complete: a
 * step ends with the response to its frame's `id` (the last frame a command causes), the connect
 * step with startup_recovery_summary, a frame without an id where the doc's lines match. A step
 * whose end never comes takes everything that arrived within a timeout, so a failure shows it all.
 * When the block starts with `>`, the connect frames are awaited and not compared; a block
 * without `>` shows them.
 */
import WebSocket from "ws";
import { linesMatch } from "./compare.js";
import type { Step } from "./steps.js";

const STEP_TIMEOUT_MS = 5_000;

function endOf(step: Step): ((frame: string, all: string[]) => boolean) {
  if (step.input === "") return (f) => f.includes('"type":"startup_recovery_summary"');
  let id: unknown;
  try {
    id = (JSON.parse(step.input) as { id?: unknown }).id;
  } catch {
    id = undefined;
  }
  if (typeof id !== "string") return (_f, all) => linesMatch(step.expected, all);
  return (f) => {
    const frame = JSON.parse(f) as { type?: unknown; id?: unknown };
    return frame.type === "response" && frame.id === id;
  };
}

export async function runWsSteps(url: string, steps: Step[]): Promise<string[][]> {
  const ws = new WebSocket(url);
  const frames: string[] = [];
  let wake: (() => void) | null = null;
  ws.on("message", (data) => {
    frames.push(data.toString());
    wake?.();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let cursor = 0;
  const waitUntil = (done: () => boolean, timeoutMs: number): Promise<boolean> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => ((wake = null), resolve(false)), timeoutMs);
      wake = () => {
        if (!done()) return;
        clearTimeout(timer);
        wake = null;
        resolve(true);
      };
      wake();
    });
  const out: string[][] = [];
  try {
    for (const [i, step] of steps.entries()) {
      const skipConnect = i === 0 && step.expected.length === 0 && steps.length > 1;
      if (step.input !== "") ws.send(step.input);
      const ends = endOf(step);
      let end = -1;
      await waitUntil(() => {
        for (let j = cursor; j < frames.length; j++) {
          if (ends(frames[j]!, frames.slice(cursor, j + 1))) {
            end = j + 1;
            return true;
          }
        }
        return false;
      }, STEP_TIMEOUT_MS);
      if (skipConnect && end < 0) throw new Error(`no startup_recovery_summary on connect; got:\n${frames.join("\n")}`);
      if (end < 0) end = frames.length;
      out.push(skipConnect ? [] : frames.slice(cursor, end));
      cursor = end;
    }
  } finally {
    ws.close();
  }
  return out;
}
