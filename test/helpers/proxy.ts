/**
 * A TCP proxy in front of a server, so a test can drop every connection mid-flight (`cut()`), as a
 * network failure would: both sockets are destroyed without a closing handshake.
 */
import { createServer, connect, type Server, type Socket } from "node:net";

export interface Proxy {
  url: string;
  /** where new connections go (change it to point at a restarted server) */
  target: number;
  port: number;
  /** connections accepted so far */
  accepted: number;
  /** destroy every open connection (the proxy keeps listening) */
  cut(): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number, host = "127.0.0.1"): Promise<Proxy> {
  const open = new Set<Socket>();
  const proxy: Proxy = {
    url: "",
    target: targetPort,
    port: 0,
    accepted: 0,
    cut() {
      for (const s of open) s.destroy();
      open.clear();
    },
    close() {
      proxy.cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((client) => {
    proxy.accepted++;
    const upstream = connect(proxy.target, host);
    open.add(client);
    open.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  const port = (server.address() as { port: number }).port;
  proxy.port = port;
  proxy.url = `ws://${host}:${port}/`;
  return proxy;
}
