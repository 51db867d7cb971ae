// Run axe-core against one HTML file in headless Chromium and write the JSON report.
// usage: node axe_check.mjs PAGE.html REPORT.json
// Exit: 0 report written (whatever it found), 2 the page or the browser failed.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { withPage, parseArgs } from './browser.mjs';

const require = createRequire(import.meta.url);
const AXE_PATH = require.resolve('axe-core/axe.min.js');
const AXE_VERSION = require('axe-core/package.json').version;
// WCAG 2.0, 2.1 and 2.2, levels A and AA (axe has no wcag22a tag).
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

const args = parseArgs(process.argv.slice(2), ['page', 'report']);
try {
  const report = await withPage(args.page, { width: 1280, height: 900 }, async (page, blocked) => {
    await page.addScriptTag({ path: AXE_PATH });
    const result = await page.evaluate(async (tags) => {
      // eslint-disable-next-line no-undef
      const r = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
      const nodes = (n) => ({ target: n.target, html: n.html, summary: n.failureSummary });
      const rule = (v) => ({ id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl, tags: v.tags, nodes: v.nodes.map(nodes) });
      // axe accepts any alt text; nbconvert fills missing ones with a placeholder that tells a
      // screen-reader user nothing, so the pack's own rule fails it (and file-name-like alt text).
      const placeholder = /^(no description has been provided for this image|image|figure|chart|graph|untitled|[\w-]+\.(png|jpe?g|svg|gif))$/i;
      const cssPath = (el) => {
        const parts = [];
        for (; el && el.nodeType === 1 && el !== document.documentElement; el = el.parentElement) {
          if (el.id) { parts.unshift(`#${CSS.escape(el.id)}`); break; }
          const same = [...el.parentElement.children].filter((c) => c.tagName === el.tagName);
          parts.unshift(same.length > 1 ? `${el.localName}:nth-of-type(${same.indexOf(el) + 1})` : el.localName);
        }
        return parts.join(' > ');
      };
      const vague = [...document.querySelectorAll('img[alt], [role="img"][aria-label]')]
        .filter((el) => placeholder.test((el.getAttribute('alt') ?? el.getAttribute('aria-label')).trim()));
      const own = vague.length === 0 ? [] : [{
        id: 'boardpack-meaningful-alt', impact: 'serious',
        help: 'Figures must have alt text that says what they show, not a placeholder',
        helpUrl: 'https://www.w3.org/WAI/tutorials/images/informative/', tags: ['wcag2a', 'wcag111', 'boardpack'],
        nodes: vague.map((el) => ({ target: [cssPath(el)], html: el.outerHTML.slice(0, 200), summary: `alt text is "${el.getAttribute('alt') ?? el.getAttribute('aria-label')}"` })),
      }];
      return {
        url: r.url, timestamp: r.timestamp,
        violations: r.violations.map(rule).concat(own),
        incomplete: r.incomplete.map(rule),
        passes: r.passes.map((p) => p.id),
        inapplicable: r.inapplicable.map((p) => p.id),
      };
    }, TAGS);
    return { engine: `axe-core ${AXE_VERSION}`, tags: TAGS, page: args.page, blocked_requests: blocked(), ...result };
  });
  writeFileSync(args.report, JSON.stringify(report, null, 2) + '\n');
} catch (err) {
  console.error(`axe check of ${args.page} failed: ${err.message}`);
  process.exit(2);
}
