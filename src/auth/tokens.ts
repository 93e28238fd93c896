/**
 * The tokens file: bearer tokens, stored only as their SHA-256 hex digests, each mapped to an
 * identity.
 *
 *   { "version": 1,
 *     "tokens": [ { "sha256": "<64 lowercase hex>", "actor": "alice", "roles": ["approver"], "comment": "laptop" } ] }
 *
 * `causeway hash-token` prints the digest of a token, so the file never holds plaintext.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject } from "ajv";
import type { Identity } from "./identity.js";

export class TokensFileError extends Error {
  readonly code = "tokens_file_invalid";
  constructor(message: string) {
    super(message);
    this.name = "TokensFileError";
  }
}

export interface TokenTable {
  /** the identity of the token, or undefined for an unknown token */
  authenticate(token: string): Identity | undefined;
  readonly size: number;
}

/** SHA-256 of the token's UTF-8 bytes, lowercase hex: the form the tokens file stores. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** actor and role names: 1..256 characters, no leading or trailing whitespace */
const NAME_PATTERN = "^\\S(.*\\S)?$";
const NAME = { type: "string", maxLength: 256, pattern: NAME_PATTERN };

export const TOKENS_FILE_SCHEMA = {
  type: "object",
  properties: {
    $schema: { type: "string" },
    version: { const: 1 },
    tokens: {
      type: "array",
      items: {
        type: "object",
        properties: {
          sha256: { type: "string", pattern: "^[0-9a-f]{64}$" },
          actor: NAME,
          roles: { type: "array", items: NAME, uniqueItems: true },
          comment: { type: "string" },
        },
        required: ["sha256", "actor", "roles"],
        additionalProperties: false,
      },
    },
  },
  required: ["version", "tokens"],
  additionalProperties: false,
} as const;

let validate: ReturnType<Ajv["compile"]> | null = null;

function describe(e: ErrorObject): string {
  const at = e.instancePath || "(root)";
  if (e.keyword === "pattern" && (e.params as { pattern: string }).pattern === NAME_PATTERN) return `${at}: must be a non-empty name without leading or trailing whitespace`;
  if (e.keyword === "additionalProperties") return `${at}: unknown key "${(e.params as { additionalProperty: string }).additionalProperty}"`;
  if (e.keyword === "required") return `${at}: missing required key "${(e.params as { missingProperty: string }).missingProperty}"`;
  if (e.keyword === "const") return `${at}: must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
  return `${at}: ${e.message ?? "is invalid"}`;
}

interface TokenEntry {
  sha256: string;
  actor: string;
  roles: string[];
  comment?: string;
}

/** Build a table from already-validated entries (duplicate digests are refused). */
export function createTokenTable(entries: readonly TokenEntry[], source = "tokens"): TokenTable {
  const byDigest = new Map<string, { digest: Buffer; identity: Identity }>();
  entries.forEach((t, i) => {
    if (byDigest.has(t.sha256)) {
      const first = entries.findIndex((o) => o.sha256 === t.sha256);
      throw new TokensFileError(`${source}: /tokens/${i}/sha256: duplicate of /tokens/${first}/sha256`);
    }
    byDigest.set(t.sha256, { digest: Buffer.from(t.sha256, "hex"), identity: { actor: t.actor, roles: [...t.roles] } });
  });
  return {
    size: byDigest.size,
    authenticate(token: string): Identity | undefined {
      const digest = createHash("sha256").update(token, "utf8").digest();
      const hit = byDigest.get(digest.toString("hex"));
      // the map lookup picks the candidate; the constant-time compare is the actual check
      if (!hit || !timingSafeEqual(hit.digest, digest)) return undefined;
      return { actor: hit.identity.actor, roles: [...hit.identity.roles] };
    },
  };
}

/** Read and validate a tokens file. Throws TokensFileError naming the file, the JSON path and the problem. */
export function loadTokens(path: string): TokenTable {
  const source = `tokens file ${path}`;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new TokensFileError(`${source}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new TokensFileError(`${source}: invalid JSON (${(err as Error).message})`);
  }
  validate ??= new Ajv({ allErrors: true, strict: true }).compile(TOKENS_FILE_SCHEMA);
  if (!validate(data)) throw new TokensFileError(`${source}: ${(validate.errors ?? []).map(describe).join("; ")}`);
  return createTokenTable((data as { tokens: TokenEntry[] }).tokens, source);
}
