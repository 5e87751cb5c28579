import type { BenchResult } from '@rocmforge/sampler';

/**
 * An SVG line chart: time per call (log scale) against batch size (log scale), one line per
 * mode, element type and backend, for one vocabulary.
 */
export function benchChart(results: BenchResult[], title: string): string {
  const series = new Map<string, Array<[number, number]>>();
  // The element type is named only where the results hold more than one.
  const named = new Set(results.map((r) => r.dtype)).size > 1;
  for (const r of results) {
    const add = (name: string, us: number | undefined) => {
      if (us === undefined || !(us > 0)) return;
      const key = `${name} ${r.mode}${named ? ` ${r.dtype}` : ''} (V=${r.vocab}, σ=${r.sigma})`;
      if (!series.has(key)) series.set(key, []);
      series.get(key)!.push([r.batch, us]);
    };
    add('GPU', r.gpu?.kernelMicroseconds);
    add('CPU', r.cpu?.microseconds);
  }
  const points = [...series.values()].flat();
  if (points.length === 0)
    return '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="80"><text x="10" y="40">no results</text></svg>\n';
  // The legend sits right of the plot, one line per series: the chart is as wide and as tall as
  // it needs (at most CHAR_WIDTH per character at font-size 12).
  const legendWidth = 45 + CHAR_WIDTH * Math.max(...[...series.keys()].map((name) => name.length));
  const margin = { left: 100, right: legendWidth + 10, top: 50, bottom: 60 };
  const width = 630 + margin.right;
  const height = Math.max(520, margin.top + LEGEND_LINE * series.size + margin.bottom);
  const log = Math.log10;
  const xs = points.map(([b]) => log(b));
  const ys = points.map(([, t]) => log(t));
  const [x0, x1] = [Math.floor(Math.min(...xs)), Math.ceil(Math.max(...xs)) || 1];
  const [y0, y1] = [Math.floor(Math.min(...ys)), Math.ceil(Math.max(...ys))];
  const px = (b: number) =>
    margin.left + ((log(b) - x0) / Math.max(x1 - x0, 1)) * (width - margin.left - margin.right);
  const py = (t: number) =>
    height - margin.bottom - ((log(t) - y0) / Math.max(y1 - y0, 1)) * (height - margin.top - margin.bottom);
  const colours = [
    '#1f77b4',
    '#ff7f0e',
    '#2ca02c',
    '#d62728',
    '#9467bd',
    '#8c564b',
    '#e377c2',
    '#7f7f7f',
    '#bcbd22',
    '#17becf',
  ];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${margin.left}" y="28" font-size="15">${escapeXml(title)}</text>`,
  ];
  for (let e = x0; e <= x1; e++) {
    const x = px(10 ** e);
    parts.push(`<line x1="${x}" y1="${margin.top}" x2="${x}" y2="${height - margin.bottom}" stroke="#ddd"/>`);
    parts.push(`<text x="${x}" y="${height - margin.bottom + 18}" text-anchor="middle">${10 ** e}</text>`);
  }
  for (let e = y0; e <= y1; e++) {
    const y = py(10 ** e);
    parts.push(`<line x1="${margin.left}" y1="${y}" x2="${width - margin.right}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${margin.left - 8}" y="${y + 4}" text-anchor="end">${10 ** e} µs</text>`);
  }
  parts.push(
    `<text x="${(margin.left + width - margin.right) / 2}" y="${height - 15}" text-anchor="middle">batch size (rows per call)</text>`,
  );
  const middle = (margin.top + height - margin.bottom) / 2;
  parts.push(
    `<text x="18" y="${middle}" text-anchor="middle" transform="rotate(-90 18 ${middle})">time per call (µs, median)</text>`,
  );
  let i = 0;
  for (const [name, pts] of series) {
    const colour = colours[i % colours.length]!;
    const dash = name.startsWith('CPU') ? ' stroke-dasharray="6 4"' : '';
    const sorted = pts.sort((a, b) => a[0] - b[0]);
    parts.push(
      `<polyline fill="none" stroke="${colour}" stroke-width="2"${dash} points="${sorted.map(([b, t]) => `${px(b).toFixed(1)},${py(t).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const [b, t] of sorted)
      parts.push(`<circle cx="${px(b).toFixed(1)}" cy="${py(t).toFixed(1)}" r="3" fill="${colour}"/>`);
    const ly = margin.top + LEGEND_LINE * i;
    parts.push(
      `<line x1="${width - margin.right + 10}" y1="${ly}" x2="${width - margin.right + 30}" y2="${ly}" stroke="${colour}" stroke-width="2"${dash}/>`,
    );
    parts.push(`<text x="${width - margin.right + 35}" y="${ly + 4}">${escapeXml(name)}</text>`);
    i++;
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** Horizontal room one character of a legend takes at most, in px (sans-serif, 12 px). */
const CHAR_WIDTH = 7.5;
/** Vertical room of one legend line, in px. */
const LEGEND_LINE = 16;

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
