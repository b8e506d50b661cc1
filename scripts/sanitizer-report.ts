// The sanitizer reports of `npm run test:asan`, one file per process: every AddressSanitizer error, and every leak
// whose allocation stack passes through the addon, is printed and fails; the leaks of other code (Node, V8 and
// onnxruntime, which exit without freeing and are not instrumented) are counted by their first frame outside the
// allocator.
// One exception, counted apart: Node's own record of an object the addon hands to JavaScript (frame #1
// napi_create_external or napi_wrap), which Node frees when V8 collects that object and a process that exits with the
// object alive never frees; the engine's own memory is not in these records (the RSS test shows it freed at run time).
//   tsx scripts/sanitizer-report.ts <log folder> <addon file name>
import fs from "node:fs";
import path from "node:path";

const [folder, addon] = [process.argv[2]!, process.argv[3]!];
const files = fs.readdirSync(folder).map((f) => path.join(folder, f));
const errors: string[] = [], ours: string[] = [];
let aliveAtExit = 0;
const others = new Map<string, { records: number; bytes: number }>();
for (const file of files) {
  const text = fs.readFileSync(file, "utf8");
  if (/ERROR: AddressSanitizer|runtime error:/.test(text) && !/ERROR: LeakSanitizer/.test(text.split("\n").find((l) => l.includes("ERROR:")) ?? "")) {
    errors.push(`${file}:\n${text}`);
  }
  // A leak record: its headline, then its frames, up to a blank line.
  for (const record of text.split(/\n\s*\n/).filter((r) => /^(Direct|Indirect) leak of/m.test(r))) {
    if (record.includes(addon) || record.includes("/native/src/")) {
      if (/^\s*#1 0x[0-9a-f]+ in napi_(create_external|wrap) /m.test(record)) aliveAtExit++;
      else ours.push(record.trim());
      continue;
    }
    const bytes = Number(/leak of (\d+) byte/.exec(record)?.[1] ?? 0);
    const frame = record.split("\n").filter((l) => /^\s*#\d+/.test(l)).map((l) => l.replace(/^\s*#\d+ 0x[0-9a-f]+ in /, "").trim())
      .find((f) => !/^(malloc|calloc|realloc|operator new|__interceptor|posix_memalign|aligned_alloc|strdup)/.test(f)) ?? "unknown";
    const key = frame.replace(/\+0x[0-9a-f]+\)$/, ")");
    const entry = others.get(key) ?? { records: 0, bytes: 0 };
    others.set(key, { records: entry.records + 1, bytes: entry.bytes + bytes });
  }
}
const total = [...others.values()].reduce((a, e) => ({ records: a.records + e.records, bytes: a.bytes + e.bytes }), { records: 0, bytes: 0 });
console.log(`${files.length} processes reported: ${errors.length} sanitizer errors, ${ours.length} leaks through ${addon} ` +
  `(and ${aliveAtExit} of Node's records of addon objects alive at exit), ` +
  `${total.records} leak records of other code (Node, V8, onnxruntime: ${total.bytes} bytes), not counted against the addon; the commonest:`);
for (const [frame, e] of [...others].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 8)) console.log(`  ${e.records} × ${frame}: ${e.bytes} bytes`);
for (const report of [...errors, ...ours].slice(0, 10)) console.log(`\n${report}`);
process.exitCode = errors.length || ours.length ? 1 : 0;
