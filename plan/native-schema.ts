import type { Field } from "../layers/param-schema.js";
import { CONVOLUTION_TACTICS, PLAN_ARITY, PLAN_FORMAT, PLAN_KINDS, planSchemaOf } from "./schema.js";

const TYPES: Readonly<Record<Field["type"], string>> = {
  number: "kNumber", integer: "kInteger", numbers: "kNumbers", integers: "kIntegers", boolean: "kBoolean", string: "kString",
};
const cString = (s: string) => JSON.stringify(s);

/**
 * native/src/plan_schema.h as the plan schema makes it: the format string, every kind's fields (type, optional,
 * allowed strings) and input and output counts, and the convolution tactics, for the native plan reader to check
 * plans against.
 */
export function nativePlanSchemaHeader(): string {
  const lines = [
    "// Generated from plan/schema.ts by `npm run generate:plan-schema`: do not edit. A test fails while it is stale.",
    "#pragma once",
    "#include <cstddef>",
    "",
    "namespace netdef::schema {",
    "",
    "enum class FieldType { kNumber, kInteger, kNumbers, kIntegers, kBoolean, kString };",
    "",
    "struct Field {",
    "  const char* name;",
    "  FieldType type;",
    "  bool optional;",
    "  const char* const* values;  // the strings allowed (nullptr: any)",
    "  size_t valueCount;",
    "};",
    "",
    "struct Kind {",
    "  const char* name;",
    "  const Field* fields;",
    "  size_t fieldCount;",
    "  size_t minInputs, maxInputs, outputs;",
    "};",
    "",
    `inline constexpr const char kPlanFormat[] = ${cString(PLAN_FORMAT)};`,
    "",
  ];
  const kinds: string[] = [];
  for (const kind of PLAN_KINDS) {
    const fields = Object.entries(planSchemaOf(kind));
    const entries = fields.map(([name, field]) => {
      const allowed = field.type === "string" ? field.values : undefined;
      const values = allowed ? `k_${kind}_${name}` : "nullptr";
      if (allowed) lines.push(`inline constexpr const char* ${values}[] = {${allowed.map(cString).join(", ")}};`);
      return `{${cString(name)}, FieldType::${TYPES[field.type]}, ${field.optional ? "true" : "false"}, ${values}, ${allowed?.length ?? 0}}`;
    });
    if (entries.length) lines.push(`inline constexpr Field k_${kind}[] = {`, ...entries.map((e) => `    ${e},`), "};");
    const arity = PLAN_ARITY[kind];
    kinds.push(`    {${cString(kind)}, ${entries.length ? `k_${kind}` : "nullptr"}, ${entries.length}, ${arity.inputs[0]}, ${arity.inputs[1]}, ${arity.outputs}},`);
  }
  lines.push("", "inline constexpr Kind kKinds[] = {", ...kinds, "};", "");
  lines.push(`inline constexpr const char* kConvolutionTactics[] = {${CONVOLUTION_TACTICS.map(cString).join(", ")}};`, "");
  lines.push("}  // namespace netdef::schema", "");
  return lines.join("\n");
}
