// A complete causeway command module: a shared todo list per session.
//
//   causeway serve --commands scripts/examples/todo-commands.mjs
//
// Every command is deterministic (its result depends only on the session state and its params),
// so `causeway audit --commands scripts/examples/todo-commands.mjs` re-executes and verifies them.
import { defineCommand, CausewayError } from "causeway";

const text = { type: "string", minLength: 1, maxLength: 500 };
const todoId = { type: "string", pattern: "^t[0-9]+$" };

function items(ctx) {
  ctx.state.todos ??= {};
  ctx.state.nextId ??= 1;
  return ctx.state.todos;
}

function existing(ctx, id) {
  const todo = items(ctx)[id];
  if (!todo) throw new CausewayError("invalid_command", `no todo ${id}`);
  return todo;
}

export const todoAdd = defineCommand({
  type: "todo_add",
  scope: "session",
  effect: "write",
  deterministic: true,
  params: { type: "object", properties: { text }, required: ["text"] },
  run(ctx, { text }) {
    const todos = items(ctx);
    const id = `t${ctx.state.nextId++}`;
    todos[id] = { id, text, done: false };
    ctx.emit({ kind: "todo_added", id, text });
    return { todo: todos[id] };
  },
});

export const todoComplete = defineCommand({
  type: "todo_complete",
  scope: "session",
  effect: "write",
  deterministic: true,
  params: { type: "object", properties: { todoId }, required: ["todoId"] },
  run(ctx, { todoId }) {
    const todo = existing(ctx, todoId);
    const changed = !todo.done;
    todo.done = true;
    if (changed) ctx.emit({ kind: "todo_completed", id: todoId });
    return { todo, changed };
  },
});

export const todoRename = defineCommand({
  type: "todo_rename",
  scope: "session",
  effect: "write",
  deterministic: true,
  params: { type: "object", properties: { todoId, text }, required: ["todoId", "text"] },
  run(ctx, { todoId, text }) {
    const todo = existing(ctx, todoId);
    const from = todo.text;
    todo.text = text;
    ctx.emit({ kind: "todo_renamed", id: todoId, from, to: text });
    return { todo };
  },
});

export const todoList = defineCommand({
  type: "todo_list",
  scope: "session",
  effect: "read",
  deterministic: true,
  params: { type: "object", properties: { done: { type: "boolean" } } },
  run(ctx, { done }) {
    const todos = Object.values(ctx.state.todos ?? {})
      .filter((t) => done === undefined || t.done === done)
      .sort((a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1)));
    return { todos, count: todos.length };
  },
});
