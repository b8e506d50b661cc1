// Writes native/src/plan_schema.h from plan/schema.ts (the plan's parameter schema, format string and tactics).
import { writeFileSync } from "node:fs";
import { nativePlanSchemaHeader } from "../plan/native-schema.js";

const file = new URL("../native/src/plan_schema.h", import.meta.url);
writeFileSync(file, nativePlanSchemaHeader());
console.log(`wrote ${file.pathname}; rebuild the addon (npm run build:native)`);
