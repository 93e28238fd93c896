/**
 * One compiled ajv schema per command type: the envelope fields plus that type's params, with
 * `additionalProperties: false`, so unknown top-level fields are refused per type.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsImport from "ajv-formats";
import type { CommandRegistry } from "../commands/registry.js";
import type { ParamsSchema } from "../commands/define.js";
import type { ServerLimits } from "./types.js";

const addFormats = addFormatsImport as unknown as (ajv: Ajv) => Ajv;

export type SessionIdRule = "none" | "optional" | "required";

export function envelopeProperties(limits: ServerLimits): Record<string, unknown> {
  const id = { type: "string", minLength: 1, maxLength: limits.maxIdLength };
  return {
    type: { type: "string" },
    id,
    sessionId: id,
    idempotencyKey: id,
    dependsOn: { type: "array", items: id, maxItems: limits.maxDependsOn, uniqueItems: true },
    ifSessionVersion: { type: "integer", minimum: 0 },
    timeoutMs: { type: "integer", minimum: 1, maximum: limits.maxTimeoutMs },
    tags: { type: "array", items: { type: "string", minLength: 1, maxLength: 128 }, maxItems: limits.maxTags, uniqueItems: true },
    notBefore: { type: "integer", minimum: 0 },
    supersedes: id,
  };
}

export function buildSchema(params: ParamsSchema | undefined, sessionId: SessionIdRule, limits: ServerLimits): object {
  const props: Record<string, unknown> = { ...envelopeProperties(limits) };
  const paramProps = params?.properties ?? {};
  for (const [k, v] of Object.entries(paramProps)) props[k] = v;
  if (sessionId === "none" && !("sessionId" in paramProps)) delete props.sessionId;
  const required = ["type", ...(params?.required ?? [])];
  if (sessionId === "required" && !required.includes("sessionId")) required.push("sessionId");
  const { properties: _p, required: _r, type: _t, ...rest } = params ?? {};
  return {
    ...rest,
    type: "object",
    properties: props,
    required,
    additionalProperties: false,
    dependencies: { dependsOn: ["id"] },
  };
}

export class SchemaSet {
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(registry: CommandRegistry, limits: ServerLimits) {
    const ajv = new Ajv({ allErrors: false, strict: false, coerceTypes: false, useDefaults: false });
    addFormats(ajv);
    for (const def of registry.laneCommands()) {
      const rule: SessionIdRule = def.scope === "session" ? "required" : "optional";
      this.validators.set(def.type, ajv.compile(buildSchema(def.params, rule, limits)));
    }
    for (const spec of registry.immediateCommands()) {
      this.validators.set(spec.type, ajv.compile(buildSchema(spec.params, spec.sessionId, limits)));
    }
  }

  /** null when valid, otherwise a readable reason. */
  validate(type: string, envelope: unknown): string | null {
    const v = this.validators.get(type);
    if (!v) return `unknown command type "${type}"`;
    if (v(envelope)) return null;
    return describe(v.errors?.[0]);
  }
}

function describe(err: ErrorObject | undefined): string {
  if (!err) return "invalid command";
  const where = err.instancePath ? err.instancePath.slice(1).replace(/\//g, ".") : "command";
  switch (err.keyword) {
    case "additionalProperties":
      return `unknown field "${String(err.params.additionalProperty)}"`;
    case "required":
      return `missing required field "${String(err.params.missingProperty)}"`;
    case "dependencies":
      return `"dependsOn" requires "id"`;
    default:
      return `${where} ${err.message ?? "is invalid"}`;
  }
}
