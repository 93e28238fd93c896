/**
 * Run a doc session's blocks in order and compare each step with the doc. A block's result lists
 * its failures (empty: the block is true); with UPDATE_DOC_EXAMPLES=1 drifted output is recorded
 * for rewriting instead of failing.
 */
import { describeMismatch, linesMatch } from "./compare.js";
import type { Block } from "./markdown.js";
import { DocSession, type Actual } from "./session.js";
import { parseCliSteps, parseWsSteps, type Step } from "./steps.js";
import { recordEdit, renderOutput, UPDATE } from "./update.js";

export interface BlockResult {
  failures: string[];
}

export const where = (b: Block): string => `${b.file}:${b.line}`;

function compareSteps(block: Block, kind: "cli" | "ws", steps: Step[], actuals: Actual[], update: boolean): string[] {
  const failures: string[] = [];
  steps.forEach((step, i) => {
    const actual = actuals[i]!;
    const what = kind === "cli" ? `$ ${step.input}` : step.input === "" ? "(on connect)" : `> ${step.input}`;
    if (actual.code !== step.expectedExit) {
      failures.push(`${what}\nexited ${actual.code}, the doc expects ${step.expectedExit} (say "# exit ${actual.code}" in the command's trailing comment)\nprinted:\n${actual.lines.join("\n")}`);
    }
    if (linesMatch(step.expected, actual.lines)) return;
    if (update) return recordEdit(block, kind, step, actual);
    failures.push(
      `${what}\nprinted something else than the doc shows (- doc, + printed):\n${describeMismatch(step.expected, actual.lines)}\n` +
        `the doc lines for what it printed (UPDATE_DOC_EXAMPLES=1 rewrites them):\n${renderOutput(kind, actual.lines).join("\n")}`,
    );
  });
  return failures;
}

async function runBlock(session: DocSession, block: Block, update: boolean): Promise<string[]> {
  const a = block.annotation!;
  switch (a.kind) {
    case "file":
      session.writeFile(block, a.arg!);
      return [];
    case "server":
      await session.server(block);
      return [];
    case "cli": {
      const steps = parseCliSteps(block.body);
      await session.ensureDefaultServer(block);
      return compareSteps(block, "cli", steps, await session.cli(steps), update);
    }
    case "ws": {
      const steps = parseWsSteps(block.body);
      await session.ensureDefaultServer(block);
      return compareSteps(block, "ws", steps, await session.ws(steps), update);
    }
    case "not-run":
      return [];
  }
}

/**
 * Run the blocks of one session once `slot` grants a place; resolves one promise per block as soon
 * as it has run, and `closed` once its shell and servers are gone and its work dir removed. A
 * block that throws fails with its error and the servers' recent logs; later blocks still run.
 */
export function runSession(
  blocks: Block[],
  slot: () => Promise<() => void>,
): { results: Array<Promise<BlockResult>>; closed: Promise<void> } {
  const resolvers: Array<(r: BlockResult) => void> = [];
  const results = blocks.map(() => new Promise<BlockResult>((r) => resolvers.push(r)));
  const closed = (async () => {
    const release = await slot();
    let session: DocSession | undefined;
    try {
      session = new DocSession();
      for (const [i, block] of blocks.entries()) {
        let failures: string[];
        try {
          failures = await runBlock(session, block, UPDATE);
        } catch (err) {
          failures = [`${(err as Error).stack ?? String(err)}\n${session.serverLogs()}`];
        }
        resolvers[i]!({ failures: failures.map((f) => `${where(block)}\n${f}`) });
      }
    } catch (err) {
      for (const r of resolvers) r({ failures: [`could not set up the session: ${(err as Error).stack ?? String(err)}`] });
    } finally {
      await session?.close().catch(() => undefined);
      release();
    }
  })();
  return { results, closed };
}
