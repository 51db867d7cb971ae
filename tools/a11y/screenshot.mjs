// Screenshot one HTML file in headless Chromium (the README's pictures of the pack).
// usage: node screenshot.mjs PAGE.html OUT.png [--full-page] [--selector CSS] [--from CSS --to CSS] [--width 1280] [--height 900]
// --from/--to: the part of the page from the top of the first element to the bottom of the second.
import { withPage, parseArgs } from './browser.mjs';

const args = parseArgs(process.argv.slice(2), ['page', 'png']);
const viewport = { width: Number(args.width ?? 1280), height: Number(args.height ?? 900) };
try {
  await withPage(args.page, viewport, async (page) => {
    if (args.from && args.to) {
      const top = await page.locator(args.from).first().boundingBox();
      const bottom = await page.locator(args.to).first().boundingBox();
      if (!top || !bottom) throw new Error(`no element matches ${top ? args.to : args.from}`);
      const y = Math.max(0, top.y - 16);
      await page.screenshot({
        path: args.png, fullPage: true,
        clip: { x: 0, y, width: viewport.width, height: bottom.y + bottom.height + 16 - y },
      });
    } else if (args.selector) {
      const element = page.locator(args.selector).first();
      if (await element.count() === 0) throw new Error(`no element matches the selector ${args.selector}`);
      await element.screenshot({ path: args.png });
    } else {
      await page.screenshot({ path: args.png, fullPage: Boolean(args['full-page']) });
    }
  });
} catch (err) {
  console.error(`screenshot of ${args.page} failed: ${err.message}`);
  process.exit(2);
}
