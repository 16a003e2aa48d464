import { execFileSync } from 'node:child_process';
import { accessibilityProblems, launchBrowser, startServer, stopServer } from './common.mjs';
const out = '/tmp/shots/';
const server = await startServer({ QRDESK_LIMITS__MIN_FILL_MS: '0', QRDESK_LIMITS__CHALLENGE: 'off', QRDESK_LIMITS__POSTS_PER_MINUTE: '100000', QRDESK_LIMITS__POSTS_BURST: '100000', QRDESK_LIMITS__CODE_REQUESTS_PER_HOUR: '100000', QRDESK_LIMITS__GETS_PER_MINUTE: '100000', QRDESK_LIMITS__GETS_BURST: '100000', QRDESK_BITRIX24__WEBHOOK_URL: 'https://portal.example.ru/rest/1/s3cret/' });
const browser = await launchBrowser();
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ru-RU' });
  const page = await ctx.newPage();
  await page.goto(server.setup);
  await page.fill('#email', 'owner@example.ru');
  await page.fill('#password', 'correct-horse-battery');
  await page.fill('#repeat', 'correct-horse-battery');
  await page.click('button[type=submit]');
  await page.waitForURL(/\/admin$/);
  // 60 requests through the public form
  for (let i = 0; i < 60; i++) {
    const html = await (await fetch(server.formUrl)).text();
    const token = html.match(/name="form_token" value="([^"]+)"/)[1];
    const body = new URLSearchParams({ form_token: token, description: `Не работает освещение в коридоре ${i}`, name: 'Иван Петров', phone: '+79990001122', consent: '1' });
    await fetch(server.formUrl, { method: 'POST', body, redirect: 'manual', headers: { origin: server.base } });
  }
  for (const [w, h, tag] of [[1280, 900, 'desktop'], [360, 740, 'phone']]) {
    await page.setViewportSize({ width: w, height: h });
    await page.goto(server.base + '/admin/requests');
    await page.screenshot({ path: out + `requests-${tag}.png`, fullPage: true });
    console.log(tag, 'requests axe', await accessibilityProblems(page));
    await page.click('text=Вперёд →');
    await page.screenshot({ path: out + `requests-next-${tag}.png`, fullPage: true });
    await page.goto(server.base + '/admin/settings/integrations');
    await page.screenshot({ path: out + `integrations-${tag}.png`, fullPage: true });
    console.log(tag, 'integrations axe', await accessibilityProblems(page));
  }
  // a viewer
  execFileSync(process.argv[2] || '../../target/debug/qrdesk', ['admin', 'create', '--email', 'viewer@example.ru', '--role', 'viewer'], { input: 'viewer-password-1\n', env: { ...process.env, QRDESK_SERVER__DATA_DIR: server.dataDir } });
  const vctx = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'ru-RU' });
  const v = await vctx.newPage();
  await v.goto(server.base + '/admin/login');
  await v.fill('#email', 'viewer@example.ru');
  await v.fill('#password', 'viewer-password-1');
  await v.click('button[type=submit]');
  await v.waitForURL(/\/admin$/);
  await v.goto(server.base + '/admin/requests');
  const href = await v.getAttribute('table a[href^="/admin/requests/"]', 'href');
  await v.goto(server.base + href);
  await v.screenshot({ path: out + 'request-viewer-phone.png', fullPage: true });
  console.log('viewer request axe', await accessibilityProblems(v));
  await v.goto(server.base + '/admin/settings/integrations');
  await v.screenshot({ path: out + 'integrations-viewer-phone.png', fullPage: true });
  await v.goto(server.base + '/admin/settings');
  await v.screenshot({ path: out + 'settings-viewer-phone.png', fullPage: true });
} finally {
  await browser.close();
  await stopServer(server);
}
