// A small hand-written SVG line chart (no plotting dependency): one line per series, optional log-scale x axis
// with decade ticks. Used by `sweep` and `demo` for AUC vs compression. Pure string building; callers write it.

export interface PlotPoint {
  x: number;
  y: number;
  /** Optional ± error bar (e.g. std over seeds). */
  err?: number;
}

export interface PlotSeries {
  name: string;
  points: PlotPoint[];
  /** Also draw a dashed horizontal line at the first point's y across the plot (a baseline such as full). */
  reference?: boolean;
}

export interface LinePlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: PlotSeries[];
  /** @default true */
  logX?: boolean;
  /** @default 720 */
  width?: number;
  /** @default 440 */
  height?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const MARKERS = ['circle', 'square', 'triangle', 'diamond'] as const;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(n: number): string {
  return Number(n.toFixed(2)).toString();
}

/** Round "nice" tick values covering [lo, hi] (about `count` of them). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw * (1 - 1e-9)) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Tick values for a log axis: powers of ten inside [lo, hi], plus 2× and 5× when there are few decades. */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const d0 = Math.floor(Math.log10(lo));
  const d1 = Math.ceil(Math.log10(hi));
  const sub = Math.log10(hi / lo) <= 2.01 ? [1, 2, 5] : [1];
  for (let d = d0; d <= d1; d++) {
    for (const m of sub) {
      const v = m * 10 ** d;
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(Number(v.toPrecision(12)));
    }
  }
  return out;
}

function tickLabel(v: number): string {
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e3) return `${v / 1e3}k`;
  return String(Number(v.toPrecision(4)));
}

function marker(kind: (typeof MARKERS)[number], x: number, y: number, color: string): string {
  const r = 4;
  switch (kind) {
    case 'circle':
      return `<circle cx="${fmt(x)}" cy="${fmt(y)}" r="${r}" fill="${color}"/>`;
    case 'square':
      return `<rect x="${fmt(x - r)}" y="${fmt(y - r)}" width="${2 * r}" height="${2 * r}" fill="${color}"/>`;
    case 'triangle':
      return `<polygon points="${fmt(x)},${fmt(y - r - 1)} ${fmt(x - r - 1)},${fmt(y + r)} ${fmt(x + r + 1)},${fmt(y + r)}" fill="${color}"/>`;
    default:
      return `<polygon points="${fmt(x)},${fmt(y - r - 1)} ${fmt(x + r + 1)},${fmt(y)} ${fmt(x)},${fmt(y + r + 1)} ${fmt(x - r - 1)},${fmt(y)}" fill="${color}"/>`;
  }
}

/**
 * Render a line chart as a standalone SVG document.
 * @example
 * const svg = linePlotSvg({ title: 'AUC vs compression', xLabel: 'compression (×)', yLabel: 'test AUC',
 *   series: [{ name: 'bh', points: [{ x: 10, y: 0.78 }, { x: 100, y: 0.77 }] }] });
 */
export function linePlotSvg(opts: LinePlotOptions): string {
  const W = opts.width ?? 720;
  const H = opts.height ?? 440;
  const logX = opts.logX ?? true;
  const m = { left: 70, right: 150, top: 40, bottom: 55 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const pts = opts.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!logX || p.x > 0));

  let xlo = pts.length ? Math.min(...pts.map((p) => p.x)) : 1;
  let xhi = pts.length ? Math.max(...pts.map((p) => p.x)) : 10;
  let ylo = pts.length ? Math.min(...pts.map((p) => p.y - (p.err ?? 0))) : 0;
  let yhi = pts.length ? Math.max(...pts.map((p) => p.y + (p.err ?? 0))) : 1;
  if (logX) {
    // A third of a decade of margin on each side, so end points do not sit on the frame.
    xlo /= 2;
    xhi *= 2;
  } else if (xhi <= xlo) {
    xlo -= 1;
    xhi += 1;
  }
  if (yhi - ylo < 1e-6) {
    ylo -= 0.005;
    yhi += 0.005;
  }
  const pad = (yhi - ylo) * 0.08;
  ylo -= pad;
  yhi += pad;

  const sx = (x: number): number =>
    m.left + (logX ? (Math.log10(x) - Math.log10(xlo)) / (Math.log10(xhi) - Math.log10(xlo)) : (x - xlo) / (xhi - xlo)) * pw;
  const sy = (y: number): number => m.top + (1 - (y - ylo) / (yhi - ylo)) * ph;

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${fmt(m.left + pw / 2)}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(opts.title)}</text>`);

  // Grid and ticks.
  const xt = logX ? logTicks(xlo, xhi) : niceTicks(xlo, xhi);
  for (const v of xt) {
    const x = sx(v);
    out.push(`<line x1="${fmt(x)}" y1="${m.top}" x2="${fmt(x)}" y2="${m.top + ph}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${fmt(x)}" y="${m.top + ph + 18}" text-anchor="middle">${esc(tickLabel(v))}${logX ? '×' : ''}</text>`);
  }
  for (const v of niceTicks(ylo, yhi, 6)) {
    const y = sy(v);
    out.push(`<line x1="${m.left}" y1="${fmt(y)}" x2="${m.left + pw}" y2="${fmt(y)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.left - 8}" y="${fmt(y + 4)}" text-anchor="end">${esc(String(Number(v.toPrecision(4))))}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${fmt(m.left + pw / 2)}" y="${H - 14}" text-anchor="middle">${esc(opts.xLabel)}${logX ? ' (log scale)' : ''}</text>`);
  out.push(`<text transform="translate(18 ${fmt(m.top + ph / 2)}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`);

  // Series.
  opts.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const kind = MARKERS[i % MARKERS.length];
    const ps = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!logX || p.x > 0)).sort((a, b) => a.x - b.x);
    out.push(`<g class="series" data-name="${esc(s.name)}">`);
    if (s.reference && ps.length > 0) {
      const y = fmt(sy(ps[0].y));
      out.push(`<line class="reference" x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="${color}" stroke-width="1.5" stroke-dasharray="6 4"/>`);
    }
    if (ps.length > 1) {
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${ps.map((p) => `${fmt(sx(p.x))},${fmt(sy(p.y))}`).join(' ')}"/>`);
    }
    for (const p of ps) {
      if (p.err !== undefined && p.err > 0) {
        out.push(`<line x1="${fmt(sx(p.x))}" y1="${fmt(sy(p.y - p.err))}" x2="${fmt(sx(p.x))}" y2="${fmt(sy(p.y + p.err))}" stroke="${color}"/>`);
      }
      out.push(marker(kind, sx(p.x), sy(p.y), color));
    }
    out.push('</g>');
    const ly = m.top + 10 + i * 20;
    const lx = m.left + pw + 16;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    out.push(marker(kind, lx + 11, ly, color));
    out.push(`<text x="${lx + 30}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
