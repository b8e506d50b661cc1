// A picture of a network: a self-contained HTML page with one SVG, laid out by dagre (a maintained layered-graph
// layout), each layer with its kind, output shape and dtype; for a plan, the layers fused into one outlined, and
// each executed layer's time where profiled.
import dagre from "@dagrejs/dagre";
import type { NetworkIR } from "../dsl/ir.js";
import { formatShape } from "../dsl/shape.js";

export interface ViewOptions {
  /** Executed layers and the network layers fused into each (a plan's `inspect().layers`). */
  fused?: readonly { name: string; fusedFrom: readonly string[] }[];
  /** Milliseconds per executed layer (a profiled run). */
  milliseconds?: Readonly<Record<string, number>>;
  title?: string;
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const CHAR = 7.2, LINE = 16, PAD = 10;

/** The network (IR) as an HTML page holding one SVG drawing of its graph. */
export function networkHtml(ir: NetworkIR, options: ViewOptions = {}): string {
  const g = new dagre.graphlib.Graph({ compound: true });
  g.setGraph({ rankdir: "TB", nodesep: 24, ranksep: 36, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  const tensorOwner = new Map<string, string>();
  const node = (id: string, lines: string[], kind: string) => {
    const width = Math.max(...lines.map((l) => l.length)) * CHAR + 2 * PAD;
    g.setNode(id, { lines, kind, width, height: lines.length * LINE + PAD, label: id });
  };
  for (const t of ir.inputs) {
    node(`input:${t.name}`, [t.name, `input ${t.dtype} ${formatShape(t.shape)}`], "input");
    tensorOwner.set(t.name, `input:${t.name}`);
  }
  const dtypes = new Map(ir.tensors.map((t) => [t.name, t]));
  for (const layer of ir.layers) {
    const out = dtypes.get(layer.outputs[0]!);
    node(layer.name, [layer.name, layer.kind, ...(out ? [`${out.dtype} ${formatShape(out.shape)}`] : [])], layer.kind);
    for (const o of layer.outputs) tensorOwner.set(o, layer.name);
  }
  for (const layer of ir.layers) for (const input of layer.inputs) {
    const from = tensorOwner.get(input);
    if (from) g.setEdge(from, layer.name);
  }
  for (const o of ir.outputs) {
    node(`output:${o.name}`, [o.name, "output"], "output");
    const from = tensorOwner.get(o.tensor);
    if (from) g.setEdge(from, `output:${o.name}`);
  }
  // A plan's fused groups: a cluster around the network layers one executed layer computes.
  for (const f of options.fused ?? []) {
    if (f.fusedFrom.length < 2) continue;
    const cluster = `fused:${f.name}`;
    const ms = options.milliseconds?.[f.name];
    g.setNode(cluster, { label: `${f.name}${ms === undefined ? "" : ` ${ms.toFixed(3)} ms`}`, cluster: true });
    for (const member of f.fusedFrom) if (g.hasNode(member)) g.setParent(member, cluster);
  }
  dagre.layout(g);
  const { width = 0, height = 0 } = g.graph();
  const parts: string[] = [];
  for (const id of g.nodes()) {
    const n = g.node(id) as { x: number; y: number; width: number; height: number; lines?: string[]; kind?: string; cluster?: boolean; label: string };
    if (n.cluster) {
      parts.push(`<g class="fused"><rect x="${n.x - n.width / 2}" y="${n.y - n.height / 2 - 14}" width="${n.width}" height="${n.height + 14}" rx="8"/><text x="${n.x - n.width / 2 + 6}" y="${n.y - n.height / 2 - 2}">fused: ${escape(n.label)}</text></g>`);
    }
  }
  for (const e of g.edges()) {
    const points = (g.edge(e) as { points: { x: number; y: number }[] }).points;
    parts.push(`<path class="edge" d="M${points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" L")}" marker-end="url(#arrow)"/>`);
  }
  for (const id of g.nodes()) {
    const n = g.node(id) as { x: number; y: number; width: number; height: number; lines?: string[]; kind?: string; cluster?: boolean };
    if (n.cluster || !n.lines) continue;
    const ms = g.parent(id) ? undefined : options.milliseconds?.[id];  // a fused group's time heads its outline
    const lines = ms === undefined ? n.lines : [...n.lines, `${ms.toFixed(3)} ms`];
    const h = lines.length * LINE + PAD, top = n.y - h / 2;
    parts.push(`<g class="layer ${escape(n.kind ?? "")}" data-layer="${escape(id)}"><rect x="${n.x - n.width / 2}" y="${top}" width="${n.width}" height="${h}" rx="4"/>` +
      lines.map((l, i) => `<text x="${n.x}" y="${top + PAD / 2 + (i + 0.8) * LINE}"${i === 0 ? ' class="name"' : ""}>${escape(l)}</text>`).join("") + "</g>");
  }
  const title = escape(options.title ?? ir.name);
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title><style>
body { font: 12px ui-monospace, monospace; margin: 0; } h1 { font-size: 14px; margin: 8px 12px; }
.layer rect { fill: #f4f6fb; stroke: #506080; } .input rect, .output rect { fill: #e8f4e8; } .name { font-weight: bold; }
text { text-anchor: middle; } .fused text { text-anchor: start; fill: #805020; } .fused rect { fill: #fff8ec; stroke: #c08030; stroke-dasharray: 4 3; }
.edge { fill: none; stroke: #8090a0; stroke-width: 1.2; }
</style></head><body><h1>${title}: ${ir.layers.length} layers</h1>
<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(width)}" height="${Math.ceil(height + 20)}" viewBox="0 -10 ${Math.ceil(width)} ${Math.ceil(height + 20)}">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#8090a0"/></marker></defs>
${parts.join("\n")}
</svg></body></html>
`;
}
