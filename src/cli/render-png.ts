/**
 * Renders a Vega-Lite spec to PNG in Node: vega-lite compiles it, vega draws SVG without a canvas, and
 * resvg rasterizes the SVG with the system's fonts.
 */
import { Resvg } from '@resvg/resvg-js';
import { compile } from 'vega-lite';
import * as vega from 'vega';

export async function renderPng(spec: Record<string, unknown>, scale = 2): Promise<Uint8Array> {
  const compiled = compile(spec as unknown as Parameters<typeof compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG(scale);
  view.finalize();
  const png = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: 'white' }).render();
  return png.asPng();
}
