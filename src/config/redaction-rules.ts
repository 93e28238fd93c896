/**
 * The `redact` setting (config file, CAUSEWAY_REDACT, --redact): its schema and its parser. What a
 * rule does to a journal record is src/journal/redaction.ts.
 */
/** command type (or "*") → rule strings */
export type RedactRules = Record<string, string[]>;

/**
 * One rule string, for the config file schema (ajv, `u` flag): a JSON Pointer, "outcome:" + a
 * pointer under /data or /error, or a bare property name (no "/", not starting with "outcome:").
 */
export const REDACT_RULE_PATTERN = "^(?:/(?:[^~]|~[01])*|outcome:/data(?:/(?:[^~]|~[01])*)?|outcome:/error|(?!outcome:)[^/]+)$";

/** JSON Schema of the `redact` setting. */
export function redactRulesSchema(): Record<string, unknown> {
  return {
    type: "object",
    propertyNames: { minLength: 1 },
    additionalProperties: { type: "array", items: { type: "string", minLength: 1, pattern: REDACT_RULE_PATTERN } },
  };
}

export type ParsedRule = { kind: "params"; pointer: string[] } | { kind: "outcome"; pointer: string[] } | { kind: "key"; key: string };

function parsePointer(pointer: string): string[] | null {
  if (!pointer.startsWith("/")) return null;
  if (/~(?![01])/.test(pointer)) return null;
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** Parse one rule string. Throws an Error saying what is wrong. */
export function parseRedactRule(rule: string): ParsedRule {
  if (typeof rule !== "string" || rule.length === 0) throw new Error("a rule must be a non-empty string");
  if (rule.startsWith("outcome:")) {
    const pointer = parsePointer(rule.slice("outcome:".length));
    const ok = pointer !== null && ((pointer[0] === "data") || (pointer[0] === "error" && pointer.length === 1));
    if (!ok) throw new Error(`rule ${JSON.stringify(rule)}: an outcome rule is "outcome:/data", "outcome:/data/<pointer>" or "outcome:/error"`);
    return { kind: "outcome", pointer: pointer! };
  }
  if (rule.startsWith("/")) {
    const pointer = parsePointer(rule);
    if (!pointer) throw new Error(`rule ${JSON.stringify(rule)} is not a valid JSON Pointer ("~" must be followed by 0 or 1)`);
    return { kind: "params", pointer };
  }
  if (rule.includes("/")) throw new Error(`rule ${JSON.stringify(rule)}: a JSON Pointer starts with "/", a bare property name contains no "/"`);
  return { kind: "key", key: rule };
}

/**
 * Validate a `redact` value (from JSON). Returns a normalized copy; throws an Error naming the
 * offending entry.
 */
export function parseRedactRules(value: unknown): RedactRules {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error('expected an object mapping a command type (or "*") to a list of rules, e.g. {"login":["/password","outcome:/data/token"]}');
  }
  const out: RedactRules = {};
  for (const [type, rules] of Object.entries(value as Record<string, unknown>)) {
    if (type.length === 0) throw new Error("a command type must not be empty");
    if (!Array.isArray(rules) || !rules.every((r) => typeof r === "string")) throw new Error(`${type}: expected a list of rule strings`);
    for (const r of rules as string[]) {
      try {
        parseRedactRule(r);
      } catch (err) {
        throw new Error(`${type}: ${(err as Error).message}`);
      }
    }
    Object.defineProperty(out, type, { value: [...(rules as string[])], enumerable: true, writable: true, configurable: true });
  }
  return out;
}

