// Opens report.html files in headless Chromium with every network request refused and
// checks what a reader does: the page loads with no console error and no request leaving
// the file, sorting a column reorders its rows, hovering a chart shows values, the contents
// link to sections. Saves a full-page screenshot of each.
//
//   node tests/browser/report.mjs OUT_DIR REPORT.html...
//
// Chromium: Debian's /usr/bin/chromium (or $CHROMIUM); playwright-core from package.json.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [outDir, ...reports] = process.argv.slice(2);
if (!outDir || reports.length === 0) {
  console.error('usage: node tests/browser/report.mjs OUT_DIR REPORT.html...');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failures = 0;
const fail = (report, what) => { failures++; console.error(`FAIL ${report}: ${what}`); };

for (const report of reports) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors = [];
  page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', e => errors.push(String(e)));
  const url = pathToFileURL(resolve(report)).href;
  const outside = [];
  await page.route('**/*', route => {
    const u = route.request().url();
    if (u === url || u.startsWith('data:')) return route.continue();
    outside.push(u);
    return route.abort();
  });
  await page.goto(url, { waitUntil: 'load' });
  const name = basename(dirname(resolve(report)));

  // The contents list every section, and each link has its target.
  const missing = await page.$$eval('nav.toc a', as =>
    as.filter(a => !document.getElementById(a.getAttribute('href').slice(1))).map(a => a.textContent));
  if (missing.length) fail(name, `contents link to missing sections: ${missing}`);
  const sections = await page.$$eval('nav.toc a', as => as.length);
  if (sections < 3) fail(name, `only ${sections} sections in the contents`);

  // Sorting: the first table with a numeric column, by that column, ascending then
  // descending.
  const sorted = await page.evaluate(() => {
    for (const t of document.querySelectorAll('table.sortable')) {
      const rows = [...t.tBodies[0].rows];
      if (rows.length < 2) continue;
      const ths = [...t.tHead.rows[0].cells];
      for (let i = 1; i < ths.length; i++) {
        const vals = rows.map(r => r.cells[i] && r.cells[i].dataset.v).filter(v => v !== undefined).map(Number);
        if (new Set(vals).size < 2) continue;
        const read = () => [...t.tBodies[0].rows].map(r => r.cells[i].dataset.v).filter(v => v !== undefined).map(Number);
        ths[i].click();
        const up = read();
        ths[i].click();
        const down = read();
        const isUp = up.every((v, k) => k === 0 || up[k - 1] <= v);
        const isDown = down.every((v, k) => k === 0 || down[k - 1] >= v);
        return { column: ths[i].textContent, isUp, isDown };
      }
    }
    return null;
  });
  if (!sorted) fail(name, 'no sortable table with a numeric column');
  else if (!sorted.isUp || !sorted.isDown) fail(name, `sorting by ${sorted.column} did not order the rows`);

  // Hover: the first chart's legend shows a value for some variant under the cursor.
  const plot = await page.$('#charts .u-over');
  if (!plot) {
    fail(name, 'no interactive chart');
  } else {
    await plot.scrollIntoViewIfNeeded();
    const box = await plot.boundingBox();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
    await page.mouse.move(box.x + box.width * 0.55, box.y + box.height * 0.5);
    const values = await page.$$eval('#charts .chart',
      cs => [...cs[0].querySelectorAll('.u-legend .u-series .u-value')].map(v => v.textContent.trim()));
    const shown = values.slice(1).filter(v => v !== '' && v !== '--' && v !== '—');
    if (shown.length === 0) fail(name, `hovering showed no value (legend: ${values})`);
    else console.log(`${name}: hover shows ${values[0]} → ${shown.join(', ')}`);
  }

  if (errors.length) fail(name, `console errors: ${errors.join(' | ')}`);
  if (outside.length) fail(name, `requests outside the file: ${outside.join(', ')}`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: `${outDir}/${name}.png`, fullPage: true });
  if (sorted) console.log(`${name}: sorted by ${sorted.column}; ${sections} sections; screenshot ${outDir}/${name}.png`);
  await page.close();
}
await browser.close();
if (failures) {
  console.error(`${failures} browser check(s) failed`);
  process.exit(1);
}
