#!/usr/bin/env node
// Baseline for the bench: a bare `ws` server on 127.0.0.1 that echoes every frame. Prints its port.
import { WebSocketServer } from "ws";

const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
wss.on("listening", () => process.stdout.write(`${wss.address().port}\n`));
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});
process.on("SIGTERM", () => process.exit(0));
