/**
 * The semantic fingerprint of a command: what makes two submissions "the same intent".
 * Canonical JSON (RFC 8785, via `canonicalize`) of the envelope without `id`, `idempotencyKey`
 * and `timeoutMs`, hashed with sha256 and versioned so the rule can evolve.
 */
import { createHash } from "node:crypto";
import canonicalizeModule from "canonicalize";
import type { CommandEnvelope } from "./types.js";

export const FINGERPRINT_VERSION = "v1";

// canonicalize is CommonJS (module.exports = fn); its typings declare an ESM default export.
export const canonicalize = ((canonicalizeModule as unknown as { default?: unknown }).default ?? canonicalizeModule) as (input: unknown) => string | undefined;

const EXCLUDED = new Set(["id", "idempotencyKey", "timeoutMs"]);

export function fingerprint(envelope: CommandEnvelope): string {
  const semantic: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(envelope)) if (!EXCLUDED.has(k)) semantic[k] = v;
  const canonical = canonicalize(semantic) ?? "null";
  return `${FINGERPRINT_VERSION}:sha256:${createHash("sha256").update(canonical).digest("hex")}`;
}
