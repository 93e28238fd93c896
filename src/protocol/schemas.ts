/**
 * One compiled ajv schema per command type: the envelope fields plus that type's params, with
 * `additionalProperties: false`, so unknown top-level fields are refused per type.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsImport from "ajv-formats";
import { validationFailed } from "./messages.js";
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
    // a repeated id counts once (the engine de-duplicates); [] needs no id
    dependsOn: { type: "array", items: id, maxItems: limits.maxDependsOn },
    ifSessionVersion: { type: "integer", minimum: 0 },
    timeoutMs: { type: "integer", minimum: 1, maximum: limits.maxTimeoutMs },
    tags: { type: "array", items: { type: "string", minLength: 1, maxLength: 128 }, maxItems: limits.maxTags, uniqueItems: true },
    notBefore: { type: "integer", minimum: 0 },
    supersedes: id,
  };
}

/**
 * `strict`: unknown top-level fields are refused; otherwise (the default, as in pi-server) they
 * are ignored by validation — they still count in the fingerprint, so reusing an id with another
 * field set is a conflict.
 */
export function buildSchema(params: ParamsSchema | undefined, sessionId: SessionIdRule, limits: ServerLimits, strict = false): object {
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
    additionalProperties: !strict,
    if: { properties: { dependsOn: { minItems: 1 } }, required: ["dependsOn"] },
    then: { required: ["id"] },
  };
}

/** A JSON Schema for a command's params: an object schema whose properties become envelope fields. */
export interface ParamsSchema {
  type?: "object";
  properties?: Record<string, unknown>;
  required?: string[];
  [keyword: string]: unknown;
}

/** What the protocol needs of a command type to validate its envelope ("schema for type"). */
export interface CommandShape {
  type: string;
  params?: ParamsSchema | undefined;
  /** the envelope's `sessionId`: "required" (a session command), "optional" or "none" */
  sessionId: SessionIdRule;
}

/** Where the command shapes come from (the command registry). */
export interface CommandShapes {
  has(type: string): boolean;
  shapes(): Iterable<CommandShape>;
}

export class SchemaSet {
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(commands: Pick<CommandShapes, "shapes">, limits: ServerLimits, opts: { strict?: boolean } = {}) {
    const ajv = new Ajv({ allErrors: false, strict: false, coerceTypes: false, useDefaults: false });
    addFormats(ajv);
    for (const c of commands.shapes()) this.validators.set(c.type, ajv.compile(buildSchema(c.params, c.sessionId, limits, opts.strict === true)));
  }

  /** null when valid, otherwise a readable reason. */
  validate(type: string, envelope: unknown): string | null {
    const v = this.validators.get(type);
    if (!v) return `unknown command type "${type}"`;
    if (v(envelope)) return null;
    return describe(v.errors?.[0]);
  }
}

/** pi-server's wording: `Validation failed: <field>: <message>`. */
function describe(err: ErrorObject | undefined): string {
  return validationFailed(reason(err));
}

function reason(err: ErrorObject | undefined): string {
  if (!err) return "command: is invalid";
  const where = err.instancePath ? err.instancePath.slice(1).replace(/\//g, ".") : "command";
  switch (err.keyword) {
    case "additionalProperties":
      return `${String(err.params.additionalProperty)}: unknown field "${String(err.params.additionalProperty)}" (--strict)`;
    case "required":
      return err.params.missingProperty === "id" && where === "command"
        ? "id: Required when dependsOn is provided"
        : `${String(err.params.missingProperty)}: missing required field "${String(err.params.missingProperty)}"`;
    case "if":
      return "id: Required when dependsOn is provided";
    default:
      return `${where}: ${err.message ?? "is invalid"}`;
  }
}
