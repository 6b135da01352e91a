// `bun bench/profile-samples.ts <file.cpuprofile> [top=40] [filter]`: where a `bun --cpu-prof` profile spends
// its samples, by function, self and inclusive. It counts SAMPLES, not the profile's timeDeltas: the deltas
// include the gaps in which the thread was idle (and attribute them to whatever ran last, typically Bun's
// native writes), so summing them over-weights exactly the frames that precede a wait. `filter`: comma-separated
// parts; a sample is kept when its stack holds a frame containing every plain part (e.g. "edge.ts") and none
// containing a part written with a leading "!" (e.g. "!spawnSync,!main edge.ts" leaves out the bench's set-up).
import { basename } from "node:path";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
}

const [file, topArg, filter] = process.argv.slice(2);
if (!file) {
  console.error("usage: bun bench/profile-samples.ts <file.cpuprofile> [top] [filter]");
  process.exit(2);
}
const top = Number(topArg ?? 40);
const profile = (await Bun.file(file).json()) as Profile;
const byId = new Map<number, Node>();
const parent = new Map<number, number>();
for (const node of profile.nodes) {
  byId.set(node.id, node);
  for (const child of node.children ?? []) parent.set(child, node.id);
}
const label = (node: Node) => {
  const { functionName, url, lineNumber } = node.callFrame;
  return `${functionName || "(anonymous)"} ${url ? `${basename(url)}:${lineNumber + 1}` : ""}`.trim();
};

const parts = (filter ?? "").split(",").filter(Boolean);
const wanted = parts.filter((part) => !part.startsWith("!"));
const unwanted = parts.filter((part) => part.startsWith("!")).map((part) => part.slice(1));
const keep = (stack: string[]) =>
  wanted.every((part) => stack.some((frame) => frame.includes(part))) &&
  !unwanted.some((part) => stack.some((frame) => frame.includes(part)));

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
let counted = 0;
let idle = 0;
for (const id of profile.samples) {
  const node = byId.get(id);
  if (!node) continue;
  const name = label(node);
  if (name === "(idle)" || name === "(program)") {
    idle++;
    continue;
  }
  const stack: string[] = [];
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const frame = byId.get(at);
    if (frame) stack.push(label(frame));
  }
  if (!keep(stack)) continue;
  counted++;
  self.set(name, (self.get(name) ?? 0) + 1);
  for (const frame of new Set(stack)) inclusive.set(frame, (inclusive.get(frame) ?? 0) + 1);
}

const print = (title: string, table: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [name, n] of [...table].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * n) / counted).toFixed(1).padStart(6)}%  ${String(n).padStart(7)}  ${name}`);
  }
};
console.log(`${counted} samples${filter ? ` under "${filter}"` : ""} (${idle} idle/program left out)`);
print("self", self);
print("inclusive", inclusive);
