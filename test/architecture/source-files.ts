/**
 * The source tree as the architecture tests read it: every `.ts` file under `src/`, its relative
 * imports resolved to files, and its functions with their line counts (TypeScript's own parser).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

export const SRC = resolve(import.meta.dirname, "../../src");

export interface SourceFile {
  /** path relative to src/, with forward slashes */
  path: string;
  lines: number;
  /** relative imports (static, dynamic and `import("…")` types), resolved to paths relative to src/ */
  imports: string[];
  functions: Array<{ name: string; line: number; lines: number }>;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

function resolveImport(from: string, spec: string): string {
  const abs = resolve(dirname(from), spec.replace(/\.js$/, ".ts"));
  const rel = relative(SRC, abs).split("\\").join("/");
  return rel.endsWith(".ts") ? rel : `${rel}/index.ts`;
}

function functionName(node: ts.Node, sf: ts.SourceFile): string {
  const named = node as ts.Node & { name?: ts.Node };
  if (named.name) return named.name.getText(sf);
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))) return parent.name.getText(sf);
  return "(anonymous)";
}

export function readSource(file: string): SourceFile {
  const text = readFileSync(file, "utf8");
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const imports: string[] = [];
  const functions: SourceFile["functions"] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const spec = node.moduleSpecifier.text;
      if (spec.startsWith(".")) imports.push(resolveImport(file, spec));
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      const spec = node.argument.literal.text;
      if (spec.startsWith(".")) imports.push(resolveImport(file, spec));
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteral(arg) && arg.text.startsWith(".")) imports.push(resolveImport(file, arg.text));
    }
    if (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isFunctionExpression(node) || ts.isArrowFunction(node) || ts.isConstructorDeclaration(node) || ts.isGetAccessor(node) || ts.isSetAccessor(node)) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      functions.push({ name: functionName(node, sf), line: start + 1, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { path: relative(SRC, file).split("\\").join("/"), lines: text.split("\n").length - (text.endsWith("\n") ? 1 : 0), imports: [...new Set(imports)], functions };
}

export function readSources(): SourceFile[] {
  return walk(SRC)
    .sort()
    .map(readSource);
}
