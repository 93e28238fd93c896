/**
 * Build the effective configuration. Precedence: flags > environment > JSON config file > defaults.
 * `limits`, `timeouts` and `redact` (per command type) merge key by key across the layers.
 *
 * Env vars are `CAUSEWAY_` + UPPER_SNAKE of the setting (limits flattened: CAUSEWAY_MAX_FRAME_BYTES);
 * see CONFIG_OPTIONS. The config file may also be named by CAUSEWAY_CONFIG. Relative `db`,
 * `commands` and `tokensFile` paths in a config file are resolved against the file's directory.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { Ajv, type ErrorObject } from "ajv";
import { DEFAULT_CONFIG, type CausewayConfig } from "./defaults.js";
import { CONFIG_OPTIONS, configFileSchema, ENV_PREFIX, kebabCase, type ConfigOption, type SettingKey } from "./schema.js";
import { parseRedactRules } from "./redaction-rules.js";
import type { ServerLimits } from "../protocol/types.js";

export { CONFIG_OPTIONS, type ConfigOption, type SettingKey } from "./schema.js";

/** An invalid setting, from any source. `key` is the offending flag, env var or file key when known. */
export class ConfigError extends Error {
  readonly code = "config_invalid";
  readonly key: string | undefined;
  constructor(message: string, key?: string) {
    super(message);
    this.name = "ConfigError";
    this.key = key;
  }
}

type FlatConfig = Omit<CausewayConfig, "limits"> & ServerLimits;

/**
 * Parsed command-line options, named as commander names them (`--max-frame-bytes` → maxFrameBytes).
 * Values may still be strings (they are validated here). `timeout` holds `type=ms` entries; a
 * `timeouts` map is accepted too, for programmatic use.
 */
export type ConfigFlags = {
  [K in keyof FlatConfig]?: FlatConfig[K] | string | string[] | undefined;
} & {
  timeout?: string | string[] | undefined;
  /** `--tokens <file>`, the flag of tokensFile */
  tokens?: string | undefined;
};

export interface LoadConfigOptions {
  flags?: ConfigFlags;
  env?: NodeJS.ProcessEnv;
  /** JSON config file; defaults to env CAUSEWAY_CONFIG when absent */
  configFile?: string | undefined;
}

const OPTION_BY_NAME = new Map<string, ConfigOption>(CONFIG_OPTIONS.map((o) => [o.name, o]));
/** commander's attribute name for a flag that does not follow the naming rule (`--tokens` → tokens) */
const OPTION_BY_FLAG_ATTRIBUTE = new Map<string, ConfigOption>(
  CONFIG_OPTIONS.filter((o) => o.type !== "map" && o.flag !== `--${kebabCase(o.name)}`).map((o) => [
    o.flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()),
    o,
  ]),
);

/** one source's settings, already validated */
interface Layer {
  values: Map<SettingKey, unknown>;
  timeouts: Record<string, number>;
}

const emptyLayer = (): Layer => ({ values: new Map(), timeouts: {} });

const TRUE = new Set(["1", "true", "yes", "on"]);
const FALSE = new Set(["0", "false", "no", "off", ""]);

function describeRange(o: ConfigOption): string {
  if (o.minimum !== undefined && o.maximum !== undefined) return `an integer from ${o.minimum} to ${o.maximum}`;
  if (o.minimum !== undefined) return `an integer >= ${o.minimum}`;
  return "an integer";
}

function parseInteger(o: ConfigOption, raw: unknown, source: string): number {
  let n: number;
  if (typeof raw === "number") n = raw;
  else if (typeof raw === "string" && /^\s*-?\d+\s*$/.test(raw)) n = Number(raw.trim());
  else n = Number.NaN;
  if (!Number.isSafeInteger(n) || (o.minimum !== undefined && n < o.minimum) || (o.maximum !== undefined && n > o.maximum)) {
    throw new ConfigError(`${source}: expected ${describeRange(o)}, got ${JSON.stringify(raw)}`, source);
  }
  return n;
}

function parseTimeoutEntries(entries: string[], source: string, into: Record<string, number>): void {
  for (const entry of entries) {
    const m = /^\s*([^=\s]+)\s*=\s*(\d+)\s*$/.exec(entry);
    const ms = m ? Number(m[2]) : Number.NaN;
    if (!m || !Number.isSafeInteger(ms) || ms < 1) {
      throw new ConfigError(`${source}: expected <type>=<ms> with ms >= 1, got ${JSON.stringify(entry)}`, source);
    }
    into[m[1]!] = ms;
  }
}

const splitList = (values: string[]): string[] =>
  values.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v.length > 0);

/** Validate one textual or typed value (env var or flag) for option `o`. */
function coerce(o: ConfigOption, raw: unknown, source: string): unknown {
  switch (o.type) {
    case "integer":
      return parseInteger(o, raw, source);
    case "boolean": {
      if (typeof raw === "boolean") return raw;
      if (typeof raw === "string" && TRUE.has(raw.trim().toLowerCase())) return true;
      if (typeof raw === "string" && FALSE.has(raw.trim().toLowerCase())) return false;
      throw new ConfigError(`${source}: expected a boolean (true/false/1/0), got ${JSON.stringify(raw)}`, source);
    }
    case "enum": {
      if (typeof raw === "string" && o.choices?.includes(raw.trim())) return raw.trim();
      throw new ConfigError(`${source}: expected one of ${o.choices?.join(", ")}, got ${JSON.stringify(raw)}`, source);
    }
    case "string": {
      if (typeof raw !== "string" || raw.length === 0) throw new ConfigError(`${source}: expected a non-empty string`, source);
      if (o.pattern && !new RegExp(o.pattern.source).test(raw)) throw new ConfigError(`${source}: ${o.pattern.says}, got ${JSON.stringify(raw)}`, source);
      return raw;
    }
    case "list": {
      const items = typeof raw === "string" ? [raw] : Array.isArray(raw) && raw.every((v) => typeof v === "string") ? (raw as string[]) : null;
      if (!items) throw new ConfigError(`${source}: expected a comma-separated list of strings`, source);
      return splitList(items);
    }
    case "rules": {
      let value: unknown = raw;
      if (typeof raw === "string") {
        try {
          value = JSON.parse(raw);
        } catch (err) {
          throw new ConfigError(`${source}: invalid JSON (${(err as Error).message})`, source);
        }
      }
      try {
        return parseRedactRules(value);
      } catch (err) {
        throw new ConfigError(`${source}: ${(err as Error).message}`, source);
      }
    }
    case "map":
      throw new ConfigError(`${source}: cannot be set this way`, source);
  }
}

function envLayer(env: NodeJS.ProcessEnv): Layer {
  const layer = emptyLayer();
  for (const o of CONFIG_OPTIONS) {
    const raw = env[o.env];
    if (raw === undefined) continue;
    if (o.type === "map") parseTimeoutEntries(splitList([raw]), o.env, layer.timeouts);
    else layer.values.set(o.name, coerce(o, raw, o.env));
  }
  return layer;
}

function flagLayer(flags: ConfigFlags): Layer {
  const layer = emptyLayer();
  for (const [name, raw] of Object.entries(flags)) {
    if (raw === undefined) continue;
    if (name === "timeout") {
      parseTimeoutEntries(Array.isArray(raw) ? (raw as string[]) : splitList([String(raw)]), "--timeout", layer.timeouts);
      continue;
    }
    const o = OPTION_BY_NAME.get(name) ?? OPTION_BY_FLAG_ATTRIBUTE.get(name);
    if (!o) throw new ConfigError(`unknown option ${JSON.stringify(name)}`, name);
    if (o.type === "map") {
      if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new ConfigError(`${o.flag}: expected a map of type → ms`, o.flag);
      for (const [type, ms] of Object.entries(raw)) {
        if (!Number.isSafeInteger(ms) || (ms as number) < 1) throw new ConfigError(`${o.flag}: ${type} must be an integer >= 1`, o.flag);
        layer.timeouts[type] = ms as number;
      }
      continue;
    }
    layer.values.set(o.name, coerce(o, raw, o.flag));
  }
  return layer;
}

let validateFile: ReturnType<Ajv["compile"]> | null = null;

function fileErrorMessage(e: ErrorObject): string {
  const path = e.instancePath.split("/").filter(Boolean).join(".");
  if (e.keyword === "additionalProperties") {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    return `unknown key ${path ? `${path}.` : ""}${extra}`;
  }
  return `${path || "(root)"} ${e.message ?? "is invalid"}`;
}

function fileLayer(file: string): Layer {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`config file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${file}: invalid JSON (${(err as Error).message})`);
  }
  validateFile ??= new Ajv({ allErrors: true, strict: true }).compile(configFileSchema());
  if (!validateFile(data)) {
    const errors = validateFile.errors ?? [];
    const first = errors[0];
    const key = first ? first.instancePath.split("/").filter(Boolean).join(".") || undefined : undefined;
    throw new ConfigError(`config file ${file}: ${errors.map(fileErrorMessage).join("; ")}`, key);
  }
  const layer = emptyLayer();
  const base = dirname(resolve(file));
  const relocate = (p: string): string => (p === ":memory:" || isAbsolute(p) ? p : resolve(base, p));
  const obj = data as Record<string, unknown>;
  for (const o of CONFIG_OPTIONS) {
    const value = o.limit ? (obj.limits as Record<string, unknown> | undefined)?.[o.name] : obj[o.name];
    if (value === undefined) continue;
    if (o.type === "map") Object.assign(layer.timeouts, value);
    else if (o.name === "db" || (o.name === "tokensFile" && value !== null)) layer.values.set(o.name, relocate(value as string));
    else if (o.name === "commands") layer.values.set(o.name, (value as string[]).map(relocate));
    else if (o.type === "rules") layer.values.set(o.name, coerce(o, value, `config file ${file}: ${o.name}`));
    else layer.values.set(o.name, value);
  }
  return layer;
}

/** The effective configuration: flags > env > config file > DEFAULT_CONFIG. Throws ConfigError. */
export function loadConfig(options: LoadConfigOptions = {}): CausewayConfig {
  const env = options.env ?? {};
  const configFile = options.configFile ?? (env[`${ENV_PREFIX}CONFIG`] || undefined);
  // lowest precedence first
  const layers = [configFile ? fileLayer(configFile) : emptyLayer(), envLayer(env), flagLayer(options.flags ?? {})];

  const flat: Record<string, unknown> = {};
  for (const o of CONFIG_OPTIONS) flat[o.name] = structuredClone(o.default);
  const timeouts: Record<string, number> = { ...DEFAULT_CONFIG.timeouts };
  for (const layer of layers) {
    for (const [name, value] of layer.values) {
      // redaction rules merge per command type, like timeouts
      flat[name] = OPTION_BY_NAME.get(name)?.type === "rules" ? { ...(flat[name] as object), ...(value as object) } : value;
    }
    Object.assign(timeouts, layer.timeouts);
  }

  const limits: Record<string, unknown> = {};
  const config: Record<string, unknown> = {};
  for (const o of CONFIG_OPTIONS) {
    if (o.limit) limits[o.name] = flat[o.name];
    else if (o.name === "timeouts") config.timeouts = timeouts;
    else config[o.name] = flat[o.name];
  }
  config.limits = limits;
  return config as unknown as CausewayConfig;
}
