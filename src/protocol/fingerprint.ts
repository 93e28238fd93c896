/**
 * The semantic fingerprint of a command: what makes two submissions "the same intent".
 * Canonical JSON (RFC 8785, via `canonicalize`) of the envelope without `id`, `idempotencyKey`
 * and `timeoutMs`, hashed with sha256 and versioned so the rule can evolve.
 */
import crypto from "node:crypto";
import canonicalizeModule from "canonicalize";
import type { CommandEnvelope } from "./types.js";

export const FINGERPRINT_VERSION = "v1";

// canonicalize is CommonJS (module.exports = fn); its typings declare an ESM default export.
export const canonicalize = ((canonicalizeModule as unknown as { default?: unknown }).default ?? canonicalizeModule) as (input: unknown) => string | undefined;

const EXCLUDED = new Set(["id", "idempotencyKey", "timeoutMs"]);

type OneShotHash = (algorithm: string, data: string, outputEncoding: "hex") => string;

/**
 * sha256 of a string (as UTF-8) in hex: the one-shot `crypto.hash` where the runtime has it
 * (Node ≥ 20.12 / 21.7), a streaming `createHash` otherwise. Both give the same digest.
 */
export function sha256HexWith(oneShot: OneShotHash | undefined): (text: string) => string {
  if (typeof oneShot === "function") return (text) => oneShot("sha256", text, "hex");
  return (text) => crypto.createHash("sha256").update(text, "utf8").digest("hex");
}

const sha256Hex = sha256HexWith((crypto as { hash?: OneShotHash }).hash);

export function fingerprint(envelope: CommandEnvelope): string {
  const semantic: Record<string, unknown> = {};
  // for-in, not Object.entries (no array per command): an envelope has only own, enumerable keys
  for (const k in envelope) if (!EXCLUDED.has(k)) semantic[k] = (envelope as Record<string, unknown>)[k];
  const canonical = canonicalize(semantic) ?? "null";
  return `${FINGERPRINT_VERSION}:sha256:${sha256Hex(canonical)}`;
}
