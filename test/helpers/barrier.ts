/** In-process `hold {key}` command whose completion the test controls, and a clock-free wait. */
import { defineCommand } from "../../src/commands/define.js";
import { CausewayError } from "../../src/protocol/errors.js";

export function barrierCommands() {
  const gates = new Map<string, { promise: Promise<void>; release: () => void }>();
  const gate = (key: string) => {
    let g = gates.get(key);
    if (!g) {
      let release!: () => void;
      const promise = new Promise<void>((r) => (release = r));
      g = { promise, release };
      gates.set(key, g);
    }
    return g;
  };
  const hold = defineCommand<{ key: string; value?: unknown }>({
    type: "hold",
    scope: "session",
    effect: "write",
    deterministic: true,
    params: { type: "object", properties: { key: { type: "string" }, value: {} }, required: ["key"] },
    async run(ctx, { key, value }) {
      await new Promise<void>((resolve, reject) => {
        void gate(key).promise.then(resolve);
        ctx.signal.addEventListener("abort", () => reject(new CausewayError("timeout", "aborted")), { once: true });
      });
      ctx.state.held = value ?? key;
      return { released: key };
    },
  });
  return { commands: [hold], release: (key: string) => gate(key).release() };
}
