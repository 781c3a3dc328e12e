// The live screen in a real browser: a page on its own origin loads supabase-js's browser build, signs
// in as a member and shows a kiosk payment the moment it commits, through the stack's Realtime.
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { stackEnv } from '../support/index.ts';
import { asKiosk, callFunction, kioskShop, newIdempotencyKey } from '../functions/http.ts';

const root = path.resolve(import.meta.dirname, '../..');
const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: path.join(import.meta.dirname, 'counter_screen.html'), type: 'text/html; charset=utf-8' },
  '/supabase.js': {
    file: path.join(root, 'node_modules/@supabase/supabase-js/dist/umd/supabase.js'),
    type: 'text/javascript; charset=utf-8',
  },
};

let browser: Browser;
let site: http.Server;
let siteUrl: string;

beforeAll(async () => {
  site = http.createServer(async (req, res) => {
    const entry = FILES[req.url ?? '/'];
    if (!entry) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': entry.type }).end(await readFile(entry.file));
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => site?.close(resolve));
});

describe('the counter screen in Chromium', () => {
  it('shows a kiosk payment live, with the balance it left', async () => {
    const { shop, staff, customer, deviceKey } = await kioskShop({ balance: 20_000, pin: '2580' });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(siteUrl);
    const { API_URL, ANON_KEY } = stackEnv();
    await page.evaluate(
      (config) => (window as unknown as { openCounterScreen(c: unknown): Promise<void> }).openCounterScreen(config),
      { url: API_URL, anonKey: ANON_KEY, email: staff.email, password: staff.password, shopId: shop.id },
    );
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'SUBSCRIBED', null, { timeout: 10_000 });
    expect(await page.locator('#movements li').count()).toBe(0);

    const paid = await callFunction('kiosk/pay', asKiosk(deviceKey), {
      body: { phone: customer.phone, pin: '2580', amount: 4_500 },
      idempotencyKey: newIdempotencyKey(),
    });
    expect(paid.status).toBe(200);
    const item = page.locator(`#movements li[data-transaction-id="${paid.body.transaction.id}"]`);
    await item.waitFor({ timeout: 2_000 });
    expect(await item.textContent()).toBe(`${customer.name} -4,500원 → 잔액 15,500원`);
    expect(await page.locator('#movements li').count()).toBe(1);
    await page.screenshot({ path: path.join(root, 'reports/realtime-counter-screen.png') });
    expect(errors).toEqual([]);
  });
});
