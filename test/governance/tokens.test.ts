/**
 * Identities (issue 5), units: the tokens file (load, validation errors, duplicate digests,
 * authenticate), the Authorization header check, the bind rule, and `causeway hash-token`
 * (the built CLI, dist/cli/main.js).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { authenticateRequest, type WebSocketAuth } from "../../src/auth/bearer.js";
import { assertBindAllowed, BindRefusedError, isLoopbackHost } from "../../src/auth/bind.js";
import { hashToken, loadTokens, TokensFileError } from "../../src/auth/tokens.js";

const dir = mkdtempSync(join(tmpdir(), "causeway-tokens-"));
let n = 0;
function tokensFile(content: unknown): string {
  const file = join(dir, `tokens${++n}.json`);
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

function loadError(file: string): string {
  try {
    loadTokens(file);
  } catch (err) {
    expect(err).toBeInstanceOf(TokensFileError);
    return (err as Error).message;
  }
  throw new Error("expected a TokensFileError");
}

const ALICE = "alice-token-0123456789";
const BOB = "bob-token-abcdefghij";
const validFile = (): string =>
  tokensFile({
    version: 1,
    tokens: [
      { sha256: hashToken(ALICE), actor: "alice", roles: ["approver"], comment: "alice's laptop" },
      { sha256: hashToken(BOB), actor: "bob", roles: [] },
    ],
  });

describe("hashToken", () => {
  it("is the lowercase hex SHA-256 of the token's UTF-8 bytes", () => {
    // FIPS 180-2 test vector
    expect(hashToken("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hashToken("abc ")).not.toBe(hashToken("abc"));
  });
});

describe("loadTokens", () => {
  it("authenticates a listed token as its identity and refuses anything else", () => {
    const table = loadTokens(validFile());
    expect(table.size).toBe(2);
    expect(table.authenticate(ALICE)).toEqual({ actor: "alice", roles: ["approver"] });
    expect(table.authenticate(BOB)).toEqual({ actor: "bob", roles: [] });
    expect(table.authenticate("wrong")).toBeUndefined();
    expect(table.authenticate("")).toBeUndefined();
    expect(table.authenticate(`${ALICE} `)).toBeUndefined();
    // the digest itself is not a token
    expect(table.authenticate(hashToken(ALICE))).toBeUndefined();
    // callers get copies: mutating one cannot grant roles to the next connection
    table.authenticate(ALICE)!.roles.push("admin");
    expect(table.authenticate(ALICE)!.roles).toEqual(["approver"]);
  });

  it("names the file, the JSON path and the problem", () => {
    const good = { sha256: hashToken("x"), actor: "x", roles: [] };
    const file = tokensFile({ version: 1, tokens: [good, { ...good, sha256: hashToken("y") }, { ...good, sha256: "ABC" }] });
    expect(loadError(file)).toBe(`tokens file ${file}: /tokens/2/sha256: must match pattern "^[0-9a-f]{64}$"`);

    const upper = tokensFile({ version: 1, tokens: [{ ...good, sha256: hashToken("x").toUpperCase() }] });
    expect(loadError(upper)).toMatch(/: \/tokens\/0\/sha256: must match pattern/);
    const noRoles = tokensFile({ version: 1, tokens: [{ sha256: hashToken("x"), actor: "x" }] });
    expect(loadError(noRoles)).toBe(`tokens file ${noRoles}: /tokens/0: missing required key "roles"`);
    const extra = tokensFile({ version: 1, tokens: [{ ...good, token: "plaintext" }] });
    expect(loadError(extra)).toBe(`tokens file ${extra}: /tokens/0: unknown key "token"`);
    const badActor = tokensFile({ version: 1, tokens: [{ ...good, actor: " " }] });
    expect(loadError(badActor)).toBe(`tokens file ${badActor}: /tokens/0/actor: must be a non-empty name without leading or trailing whitespace`);
    const badRole = tokensFile({ version: 1, tokens: [{ ...good, roles: ["ok", 7] }] });
    expect(loadError(badRole)).toBe(`tokens file ${badRole}: /tokens/0/roles/1: must be string`);
    const v2 = tokensFile({ version: 2, tokens: [] });
    expect(loadError(v2)).toBe(`tokens file ${v2}: /version: must be 1`);
    const noTokens = tokensFile({ version: 1 });
    expect(loadError(noTokens)).toBe(`tokens file ${noTokens}: (root): missing required key "tokens"`);
    const notJson = tokensFile("{ version: 1 ");
    expect(loadError(notJson)).toMatch(new RegExp(`^tokens file ${notJson.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: invalid JSON`));
    const missing = join(dir, "missing.json");
    expect(loadError(missing)).toBe(`tokens file ${missing}: cannot read it (ENOENT)`);
  });

  it("refuses a digest listed twice, naming both entries", () => {
    const entry = { sha256: hashToken("same"), actor: "a", roles: [] };
    const file = tokensFile({ version: 1, tokens: [entry, { sha256: hashToken("other"), actor: "b", roles: [] }, { ...entry, actor: "c" }] });
    expect(loadError(file)).toBe(`tokens file ${file}: /tokens/2/sha256: duplicate of /tokens/0/sha256`);
  });

  it("accepts an empty token list (then every client is refused)", () => {
    const table = loadTokens(tokensFile({ version: 1, tokens: [] }));
    expect(table.size).toBe(0);
    expect(table.authenticate(ALICE)).toBeUndefined();
  });
});

describe("authenticateRequest", () => {
  const auth: WebSocketAuth = { tokens: loadTokens(validFile()), local: { actor: "local", roles: ["admin"] } };

  it("maps Authorization: Bearer <token> to the token's identity", () => {
    expect(authenticateRequest({ authorization: `Bearer ${ALICE}` }, auth)).toEqual({ ok: true, identity: { actor: "alice", roles: ["approver"] } });
    // the scheme is case-insensitive (RFC 7235)
    expect(authenticateRequest({ authorization: `bearer ${BOB}` }, auth)).toEqual({ ok: true, identity: { actor: "bob", roles: [] } });
  });

  it("says why a request is refused: missing, malformed or unknown_token", () => {
    expect(authenticateRequest({}, auth)).toEqual({ ok: false, reason: "missing" });
    expect(authenticateRequest({ authorization: "" }, auth)).toEqual({ ok: false, reason: "missing" });
    expect(authenticateRequest({ authorization: ALICE }, auth)).toEqual({ ok: false, reason: "malformed" });
    expect(authenticateRequest({ authorization: `Basic ${Buffer.from(`alice:${ALICE}`).toString("base64")}` }, auth)).toEqual({ ok: false, reason: "malformed" });
    expect(authenticateRequest({ authorization: "Bearer " }, auth)).toEqual({ ok: false, reason: "malformed" });
    expect(authenticateRequest({ authorization: `Bearer ${ALICE} extra` }, auth)).toEqual({ ok: false, reason: "malformed" });
    expect(authenticateRequest({ authorization: "Bearer not-a-known-token" }, auth)).toEqual({ ok: false, reason: "unknown_token" });
  });

  it("without a tokens file, every request is the local identity", () => {
    const open: WebSocketAuth = { tokens: null, local: { actor: "ops", roles: ["admin"] } };
    expect(authenticateRequest({}, open)).toEqual({ ok: true, identity: { actor: "ops", roles: ["admin"] } });
    expect(authenticateRequest({ authorization: "Bearer anything" }, open)).toEqual({ ok: true, identity: { actor: "ops", roles: ["admin"] } });
  });
});

describe("bind rule", () => {
  it("knows loopback hosts without DNS", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"]) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ["0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "192.168.1.10", "::ffff:10.0.0.1", "example.com", "localhost.example.com", ""]) expect(isLoopbackHost(h), h).toBe(false);
  });

  it("refuses a non-loopback host unless a tokens file or insecure is configured", () => {
    expect(assertBindAllowed("127.0.0.1", { tokensFile: null, insecure: false })).toBe("ok");
    expect(assertBindAllowed("0.0.0.0", { tokensFile: "/etc/causeway/tokens.json", insecure: false })).toBe("ok");
    expect(assertBindAllowed("0.0.0.0", { tokensFile: null, insecure: true })).toBe("insecure");
    let err: unknown;
    try {
      assertBindAllowed("0.0.0.0", { tokensFile: null, insecure: false });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BindRefusedError);
    expect((err as BindRefusedError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(/non-loopback host "0\.0\.0\.0".*--tokens <file>.*--insecure/);
  });
});

describe("causeway hash-token", () => {
  const CLI = join(resolve(import.meta.dirname, "../.."), "dist/cli/main.js");
  const run = (args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> => {
    const proc = spawn(process.execPath, [CLI, "hash-token", ...args], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    proc.stdin.end(stdin ?? "");
    return new Promise((r) => proc.once("close", (code) => r({ code, stdout, stderr })));
  };

  it("prints the digest of the argument, or of stdin without its line ending, and nothing else", async () => {
    const [fromArg, fromStdin, fromCrlf] = await Promise.all([run([ALICE]), run([], `${ALICE}\n`), run([], `${ALICE}\r\n`)]);
    for (const r of [fromArg, fromStdin, fromCrlf]) expect(r).toEqual({ code: 0, stdout: `${hashToken(ALICE)}\n`, stderr: "" });
    // what it prints is what the server accepts
    const table = loadTokens(tokensFile({ version: 1, tokens: [{ sha256: fromStdin.stdout.trim(), actor: "alice", roles: [] }] }));
    expect(table.authenticate(ALICE)?.actor).toBe("alice");
  });

  it("refuses an empty token or one that cannot travel in a Bearer header", async () => {
    const [empty, spaced] = await Promise.all([run([], ""), run(["two words"])]);
    expect(empty.code).toBe(1);
    expect(empty.stdout).toBe("");
    expect(empty.stderr).toBe("causeway hash-token: the token is empty\n");
    expect(spaced.code).toBe(1);
    expect(spaced.stderr).toMatch(/printable ASCII without spaces/);
  });
});
