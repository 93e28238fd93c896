/**
 * The policy file: who may submit which command types, and which commands need approval.
 *
 * Evaluation (deterministic, documented in PROTOCOL.md "Policies"):
 *  1. Role gate: if `roles[type]` exists, the actor must hold one of those roles, else `forbidden`.
 *  2. Every rule whose `match` holds is collected, in file order. A rule matches when each field it
 *     names matches: `type` (one or a list), `sessionId` (glob: `*` any run, `?` one char),
 *     `tags` (the command carries at least one), `actorRoles` (the actor holds at least one).
 *  3. Any matching `deny` wins: the command is refused with `forbidden` and the first deny's reason.
 *  4. Otherwise, matching `require_approval` rules merge: their steps are concatenated in file order
 *     (identical steps once), `allowRequester` holds only if every rule allows it, `expiresInMs` is
 *     the smallest, and `onStale` is the strictest (reject > revalidate > renew).
 *  5. Otherwise the command is allowed (`allow` rules only document intent; `defaultEffect` may be
 *     "deny" to refuse everything no rule allows).
 * The policy version is the sha256 of the file's canonical JSON; it is recorded on every governed command.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { Ajv, type ErrorObject } from "ajv";
import type { ApprovalStep } from "../lifecycle/status.js";
import { canonicalize } from "../protocol/fingerprint.js";
import { escapeToken } from "../protocol/json-values.js";

export type OnStale = "reject" | "renew" | "revalidate";

export interface PolicyMatch {
  type?: string | string[];
  sessionId?: string;
  tags?: string[];
  actorRoles?: string[];
}

export interface PolicyRule {
  name?: string;
  match?: PolicyMatch;
  effect: "allow" | "deny" | "require_approval";
  reason?: string;
  approvals?: number;
  approverRoles?: string[];
  steps?: Array<{ name?: string; approvals: number; approverRoles: string[] }>;
  allowRequester?: boolean;
  expiresInMs?: number;
  onStale?: OnStale;
}

export interface PolicyFile {
  version: 1;
  /** command type → roles allowed to submit it */
  roles?: Record<string, string[]>;
  /** roles that may cancel anyone's command (default ["admin"]) */
  adminRoles?: string[];
  defaults?: { expiresInMs?: number; onStale?: OnStale; approverRoles?: string[] };
  defaultEffect?: "allow" | "deny";
  rules?: PolicyRule[];
}

export interface Requirements {
  rules: string[];
  steps: ApprovalStep[];
  allowRequester: boolean;
  expiresInMs: number;
  onStale: OnStale;
}

export type Verdict =
  | { effect: "allow" }
  | { effect: "deny"; reason: string; rule: string }
  | { effect: "require_approval"; requirements: Requirements };

export interface PolicySubject {
  type: string;
  sessionId: string | null;
  tags: readonly string[];
  roles: readonly string[];
}

const DEFAULT_EXPIRES_MS = 3_600_000;
const STALE_RANK: Record<OnStale, number> = { reject: 3, revalidate: 2, renew: 1 };

const nonEmptyStrings = { type: "array", items: { type: "string", minLength: 1 }, minItems: 1, uniqueItems: true };
const onStale = { enum: ["reject", "renew", "revalidate"] };
const step = {
  type: "object",
  additionalProperties: false,
  required: ["approvals", "approverRoles"],
  properties: { name: { type: "string" }, approvals: { type: "integer", minimum: 1, maximum: 100 }, approverRoles: nonEmptyStrings },
};

export const POLICY_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["version"],
  properties: {
    version: { const: 1 },
    roles: { type: "object", additionalProperties: nonEmptyStrings },
    adminRoles: nonEmptyStrings,
    defaults: {
      type: "object",
      additionalProperties: false,
      properties: { expiresInMs: { type: "integer", minimum: 1 }, onStale, approverRoles: nonEmptyStrings },
    },
    defaultEffect: { enum: ["allow", "deny"] },
    rules: {
      type: "array",
      maxItems: 1000,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["effect"],
        properties: {
          name: { type: "string", minLength: 1 },
          match: {
            type: "object",
            additionalProperties: false,
            properties: {
              type: { anyOf: [{ type: "string", minLength: 1 }, nonEmptyStrings] },
              sessionId: { type: "string", minLength: 1 },
              tags: nonEmptyStrings,
              actorRoles: nonEmptyStrings,
            },
          },
          effect: { enum: ["allow", "deny", "require_approval"] },
          reason: { type: "string" },
          approvals: { type: "integer", minimum: 1, maximum: 100 },
          approverRoles: nonEmptyStrings,
          steps: { type: "array", items: step, minItems: 1, maxItems: 20 },
          allowRequester: { type: "boolean" },
          expiresInMs: { type: "integer", minimum: 1 },
          onStale,
        },
        allOf: [
          { if: { properties: { effect: { const: "deny" } } }, then: { required: ["reason"] } },
          { not: { required: ["steps", "approvals"] } },
        ],
      },
    },
  },
} as const;

export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PolicyError";
  }
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(POLICY_SCHEMA);

function describe(e: ErrorObject): string {
  const path = e.instancePath || "/";
  if (e.keyword === "additionalProperties") return `${path}: unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
  if (e.keyword === "enum") return `${path}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
  if (e.keyword === "not") return `${path}: give either "steps" or "approvals"/"approverRoles", not both`;
  return `${path}: ${e.message ?? e.keyword}`;
}

export class Policy {
  readonly version: string;
  private readonly compiled: Array<{ rule: PolicyRule; name: string; session: RegExp | null; types: Set<string> | null }>;

  constructor(readonly file: PolicyFile) {
    this.version = `sha256:${createHash("sha256").update(canonicalize(file) ?? "null").digest("hex")}`;
    this.compiled = (file.rules ?? []).map((rule, i) => ({
      rule,
      name: rule.name ?? `rules[${i}]`,
      session: rule.match?.sessionId !== undefined ? globToRegExp(rule.match.sessionId) : null,
      types: rule.match?.type === undefined ? null : new Set(Array.isArray(rule.match.type) ? rule.match.type : [rule.match.type]),
    }));
  }

  /** Parse and validate; throws PolicyError naming `source`, the JSON path and the problem. */
  static parse(text: string, source: string): Policy {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new PolicyError(`policy file ${source}: not valid JSON: ${(err as Error).message}`);
    }
    if (!validate(json)) {
      const problems = (validate.errors ?? []).filter((e) => e.keyword !== "if").map(describe);
      throw new PolicyError(`policy file ${source}: ${[...new Set(problems)].join("; ")}`);
    }
    return new Policy(json as PolicyFile);
  }

  static load(path: string): Policy {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      throw new PolicyError(`policy file ${path}: cannot read it: ${(err as Error).message}`);
    }
    return Policy.parse(text, path);
  }

  /** The permissive policy used when no policy file is configured. */
  static open(): Policy {
    return new Policy({ version: 1 });
  }

  /**
   * The command types the policy names that are not in `known`: `roles` keys and rules'
   * `match.type`, each with its JSON Pointer in the file. A pure check: the caller knows which
   * types are registered (the server, once every command module is loaded).
   */
  unknownTypes(known: ReadonlySet<string>): Array<{ path: string; type: string }> {
    const found: Array<{ path: string; type: string }> = [];
    for (const type of Object.keys(this.file.roles ?? {})) if (!known.has(type)) found.push({ path: `/roles/${escapeToken(type)}`, type });
    (this.file.rules ?? []).forEach((rule, i) => {
      const t = rule.match?.type;
      const path = `/rules/${i}/match/type`;
      const named = t === undefined ? [] : Array.isArray(t) ? t.map((type, j) => ({ path: `${path}/${j}`, type })) : [{ path, type: t }];
      for (const n of named) if (!known.has(n.type)) found.push(n);
    });
    return found;
  }

  adminRoles(): string[] {
    return this.file.adminRoles ?? ["admin"];
  }

  /**
   * Read visibility under authentication: an actor sees its own commands, every command if it
   * holds an admin or `auditor` role, and the commands of a session it may read (the policy does
   * not deny it `get_state` on that session).
   */
  mayRead(viewer: { actor: string; roles: readonly string[] }, sessionId: string | null, actor: string): boolean {
    if (viewer.actor === actor) return true;
    if (viewer.roles.includes("auditor") || this.adminRoles().some((r) => viewer.roles.includes(r))) return true;
    if (sessionId === null) return false;
    return this.evaluate({ type: "get_state", sessionId, tags: [], roles: [...viewer.roles] }).effect !== "deny";
  }

  evaluate(s: PolicySubject): Verdict {
    const gate = this.file.roles?.[s.type];
    if (gate && !gate.some((r) => s.roles.includes(r))) {
      return { effect: "deny", rule: `roles.${s.type}`, reason: `only ${gate.join(" or ")} may submit ${s.type}` };
    }
    const matching = this.compiled.filter((c) => this.matches(c, s));
    const deny = matching.find((c) => c.rule.effect === "deny");
    if (deny) return { effect: "deny", rule: deny.name, reason: deny.rule.reason ?? "denied by policy" };
    const approvals = matching.filter((c) => c.rule.effect === "require_approval");
    if (approvals.length === 0) {
      if (this.file.defaultEffect === "deny" && !matching.some((c) => c.rule.effect === "allow")) {
        return { effect: "deny", rule: "defaultEffect", reason: `no policy rule allows ${s.type}` };
      }
      return { effect: "allow" };
    }
    const d = this.file.defaults ?? {};
    const steps: ApprovalStep[] = [];
    const seen = new Set<string>();
    for (const { rule, name } of approvals) {
      const ruleSteps = rule.steps ?? [{ name, approvals: rule.approvals ?? 1, approverRoles: rule.approverRoles ?? d.approverRoles ?? ["approver"] }];
      ruleSteps.forEach((st, i) => {
        const full: ApprovalStep = { name: st.name ?? (ruleSteps.length > 1 ? `${name}#${i + 1}` : name), approvals: st.approvals, approverRoles: [...st.approverRoles] };
        const key = JSON.stringify([full.approvals, [...full.approverRoles].sort()]);
        if (seen.has(key)) return;
        seen.add(key);
        steps.push(full);
      });
    }
    let stale: OnStale | null = null;
    let expiresInMs = Number.POSITIVE_INFINITY;
    let allowRequester = true;
    for (const { rule } of approvals) {
      const o = rule.onStale ?? d.onStale ?? "reject";
      if (stale === null || STALE_RANK[o] > STALE_RANK[stale]) stale = o;
      expiresInMs = Math.min(expiresInMs, rule.expiresInMs ?? d.expiresInMs ?? DEFAULT_EXPIRES_MS);
      allowRequester = allowRequester && rule.allowRequester === true;
    }
    return { effect: "require_approval", requirements: { rules: approvals.map((a) => a.name), steps, allowRequester, expiresInMs, onStale: stale ?? "reject" } };
  }

  private matches(c: Policy["compiled"][number], s: PolicySubject): boolean {
    const m = c.rule.match;
    if (!m) return true;
    if (c.types && !c.types.has(s.type)) return false;
    if (c.session && (s.sessionId === null || !c.session.test(s.sessionId))) return false;
    if (m.tags && !m.tags.some((t) => s.tags.includes(t))) return false;
    if (m.actorRoles && !m.actorRoles.some((r) => s.roles.includes(r))) return false;
    return true;
  }
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}
