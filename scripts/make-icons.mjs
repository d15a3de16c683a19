// Draws the app's icons (assets/icons/*.png) from the logo in assets/favicon.svg, with
// the headless Chromium the browser tests use. The PNGs are committed; run this again
// only when the logo changes:
//   node scripts/make-icons.mjs        (after scripts/test has installed tests/js)
//
// - icon-192.png, icon-512.png: the logo as it is, rounded corners on transparency,
//   for browsers and desktops ("purpose": "any").
// - maskable-512.png: the same mark on a full square of the logo's colour, the mark
//   shrunk into the middle 80 % circle that Android's masks (circle, squircle, …) keep.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '../tests/js/node_modules/playwright-core/index.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const logo = readFileSync(join(root, 'assets/favicon.svg'), 'utf8');

/** The logo's parts: its gradient, and the drawing on top of the rounded square. */
const defs = logo.match(/<defs>[\s\S]*<\/defs>/)[0];
const mark = logo.slice(logo.indexOf('<path')).replace('</svg>', '');

const sized = (svg, size) => svg.replace('<svg ', `<svg width="${size}" height="${size}" `);

// Shrunk about its centre (32, 32.5) so that its corners stay inside the safe circle.
const maskable = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">${defs}
  <rect width="64" height="64" fill="url(#g)"/>
  <g transform="translate(32 32) scale(0.8) translate(-32 -32.5)">${mark}</g>
</svg>`;

const icons = [
  ['icon-192.png', logo, 192],
  ['icon-512.png', logo, 512],
  ['maskable-512.png', maskable, 512],
];

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
try {
  const page = await browser.newPage({ deviceScaleFactor: 1 });
  for (const [file, svg, size] of icons) {
    await page.setViewportSize({ width: size, height: size });
    await page.setContent(`<!doctype html><body style="margin:0">${sized(svg, size)}</body>`);
    await page.screenshot({
      path: join(root, 'assets/icons', file),
      clip: { x: 0, y: 0, width: size, height: size },
      omitBackground: true,
    });
    console.log(`assets/icons/${file}`);
  }
} finally {
  await browser.close();
}
