// Open a local HTML file in Debian's headless Chromium (never a browser build Playwright downloads),
// with a fresh profile and no network: the pack must work offline, so any request that is not
// file: or data: is blocked and recorded.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.BOARDPACK_CHROMIUM || '/usr/bin/chromium';
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export async function withPage(htmlPath, viewport, work) {
  const profile = mkdtempSync(join(tmpdir(), 'boardpack-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: ARGS, viewport, offline: true,
  });
  const blocked = new Set();
  try {
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
      blocked.add(url);
      return route.abort();
    });
    const page = context.pages()[0] ?? await context.newPage();
    await page.goto(pathToFileURL(resolve(htmlPath)).href, { waitUntil: 'load', timeout: 60000 });
    return await work(page, () => [...blocked]);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

// Arguments as `--name value` pairs and flags after the positional ones.
export function parseArgs(argv, positional) {
  const out = {}; const rest = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) {
      const name = argv[i].slice(2);
      if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) out[name] = argv[++i]; else out[name] = true;
    } else rest.push(argv[i]);
  }
  if (rest.length < positional.length) {
    console.error(`usage: node ${process.argv[1]} ${positional.join(' ')} [options]`);
    process.exit(64);
  }
  positional.forEach((name, i) => { out[name] = rest[i]; });
  return out;
}
