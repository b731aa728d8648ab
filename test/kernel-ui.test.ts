/**
 * The inspector (`tsbpf ui`) end to end in headless Chromium (Debian's
 * chromium, driven by playwright-core; no browser download): the page lists
 * a program this test loaded, shows a map value this test wrote decoded
 * through the map's BTF, and streams a record the test's program emitted
 * into its ring buffer, decoded. TSBPF_UI_SCREENSHOT=<file> saves the page
 * (the README's screenshot).
 */
import { existsSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadCollection, type Collection } from '@tsbpf/loader';
import { parseCollectionSpec } from '@tsbpf/object';
import { startInspector, type Inspector } from 'tsbpf';
import { describeNeeds, hasCommand, isRoot, type Requirement } from './support/env.js';
import { inspectObject } from './support/inspect-object.js';

const BROWSER = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((p) => existsSync(p));
const hasChromium: Requirement = { ok: BROWSER !== undefined, reason: "needs Debian's chromium (apt-get install chromium)" };
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

function mapId(c: Collection, name: string): number {
  const info = readFileSync(`/proc/self/fdinfo/${c.maps[name]!.fd}`, 'utf8');
  return Number(/^map_id:\s+(\d+)$/m.exec(info)![1]);
}

describeNeeds([isRoot(), hasCommand('clang'), hasChromium], 'the inspector in a browser', () => {
  let c: Collection;
  let inspector: Inspector;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    c = loadCollection(parseCollectionSpec(new Uint8Array(readFileSync(await inspectObject()))));
    // struct flow { 10.0.0.1, 10.0.0.2, 80, 443, 6 } -> struct flow_stats { 5, 1500 }
    const key = new Uint8Array(16);
    const k = new DataView(key.buffer);
    k.setUint32(0, 0x0a000001, true);
    k.setUint32(4, 0x0a000002, true);
    k.setUint16(8, 80, true);
    k.setUint16(10, 443, true);
    k.setUint8(12, 6);
    const value = new Uint8Array(16);
    const v = new DataView(value.buffer);
    v.setBigUint64(0, 5n, true);
    v.setBigUint64(8, 1500n, true);
    c.maps.flows!.update(key, value);
    inspector = await startInspector({ intervalMs: 250 });
    browser = await chromium.launch({ executablePath: BROWSER, headless: true, args: FLAGS, timeout: 60_000 });
    page = await browser.newPage({ viewport: { width: 1400, height: 540 } });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await inspector?.close();
    c?.close();
  });

  it('shows our program, our map value decoded, and our program’s ring buffer record decoded', async () => {
    const progId = c.programs.count_packets!.id();
    const flows = mapId(c, 'flows');
    const events = mapId(c, 'events');
    await page.goto(inspector.url);
    const progRow = page.locator(`#programs tr[data-id="${progId}"]`);
    await progRow.waitFor({ timeout: 30_000 });
    expect(await progRow.innerText()).toMatch(/\bxdp\b[\s\S]*\bcount_packets\b/);

    await page.locator(`#maps tr[data-id="${flows}"] button`).click();
    const mapView = page.locator('#map-view tbody tr');
    await mapView.first().waitFor({ timeout: 30_000 });
    expect(await page.locator('#map-title').innerText()).toContain(`Map ${flows} flows (hash)`);
    expect(await mapView.allInnerTexts()).toEqual(['{"saddr":167772161,"daddr":167772162,"sport":80,"dport":443,"proto":6}\t{"packets":5,"bytes":1500}']);

    await page.selectOption('#rings', String(events));
    await page.click('#stream');
    await page.locator('#ring-status', { hasText: 'records as' }).waitFor({ timeout: 30_000 });
    expect(await page.locator('#ring-status').innerText()).toBe('records as struct event');
    c.programs.count_packets!.testRun({ data: new Uint8Array(60) });
    const record = page.locator('#records li').first();
    await record.waitFor({ timeout: 30_000 });
    expect(JSON.parse(await record.innerText())).toEqual({ seq: 1, len: 60, magic: 0xfeedbeef });

    // The counter the program bumped shows too (per CPU, decoded), after a refresh.
    await page.waitForTimeout(600);
    const shot = process.env.TSBPF_UI_SCREENSHOT;
    if (shot) await page.screenshot({ path: shot, fullPage: true });
  }, 120_000);

  it('refuses a request without the token, or for another host', async () => {
    const base = new URL(inspector.url);
    expect((await fetch(`${base.origin}/api/overview`)).status).toBe(404);
    expect((await fetch(`${base.origin}/${'0'.repeat(32)}/api/overview`)).status).toBe(404);
    expect((await fetch(`${inspector.url}api/overview`)).status).toBe(200);
    expect((await fetch(`${inspector.url}api/map?id=x`)).status).toBe(400);
    // Another Host (a DNS-rebinding page's name for 127.0.0.1) is refused even with the token.
    const other = await new Promise<number>((resolve, reject) => {
      get({ host: '127.0.0.1', port: base.port, path: base.pathname + 'api/overview', headers: { host: `evil.example:${base.port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    expect(other).toBe(403);
  });
});
