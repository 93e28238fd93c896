// The todo example's client: node scripts/examples/todo-client.mjs [ws://127.0.0.1:3141/]
//
// With a URL it talks to a running `causeway serve --commands scripts/examples/todo-commands.mjs`;
// without one it spawns its own stdio server (in-memory journal) with the todo module.
// Prints one JSON line per step, then the list.
import { fileURLToPath } from "node:url";
import { connect } from "causeway/client";

const commands = fileURLToPath(new URL("./todo-commands.mjs", import.meta.url));
const cli = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const target = process.argv[2] ?? { spawn: [process.execPath, cli, "serve", "--stdio", "--db", ":memory:", "--commands", commands] };
const sessionId = process.argv[3] ?? "groceries";

const client = await connect(target, { stderr: "ignore" });
try {
  const created = await client.send({ type: "create_session", sessionId });
  if (!created.success && created.code !== "session_exists") throw new Error(created.error);

  const milk = await client.call({ type: "todo_add", sessionId, text: "milk" });
  const eggs = await client.call({ type: "todo_add", sessionId, text: "eggs" });
  console.log(JSON.stringify({ added: [milk.todo, eggs.todo] }));

  await client.call({ type: "todo_rename", sessionId, todoId: eggs.todo.id, text: "a dozen eggs" });
  // a retry with the same id is answered from the journal, never executed twice
  const complete = { type: "todo_complete", id: `complete-${sessionId}-${milk.todo.id}`, sessionId, todoId: milk.todo.id };
  const first = await client.send(complete);
  const again = await client.send(complete);
  console.log(JSON.stringify({ completed: first.data.todo, retryReplayed: again.replayed === true }));

  const missing = await client.send({ type: "todo_complete", sessionId, todoId: "t999" });
  console.log(JSON.stringify({ missing: { success: missing.success, code: missing.code } }));

  const list = await client.call({ type: "todo_list", sessionId });
  console.log(JSON.stringify({ list: list.todos }));
} finally {
  await client.close();
}
