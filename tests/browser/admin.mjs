// Browser test of the admin area: create the owner from the one-time setup
// link, sign in, find an asset, create its code, preview a label sheet and
// download the PDF. Screenshots go to tests/browser/screenshots/.
//
//   node admin.mjs path/to/qrdesk

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessibilityProblems, check, launchBrowser, runner, shots, startServer, stopServer } from './common.mjs';

const { test, finish } = runner('admin browser');

async function signIn(page) {
  await page.goto(server.base + '/admin/login');
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/admin$/);
}

/// A label PDF read back: the codes printed as text (pdftotext, `7K3M-9Q2A`
/// without the hyphen) and the QR codes decoded from its pages rasterised at
/// 300 dpi (pdftoppm, zbarimg), as their URLs.
function readPdf(bytes) {
  const dir = mkdtempSync(join(tmpdir(), 'qrdesk-pdf-'));
  writeFileSync(join(dir, 'labels.pdf'), bytes);
  const text = execFileSync('pdftotext', [join(dir, 'labels.pdf'), '-'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const texts = (text.match(/\b[0-9A-Z]{4}-[0-9A-Z]{4}\b/g) || []).map((c) => c.replace('-', ''));
  execFileSync('pdftoppm', ['-r', '300', '-png', join(dir, 'labels.pdf'), join(dir, 'page')], { stdio: 'ignore' });
  const urls = [];
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.png')).sort()) {
    let out = '';
    try {
      out = execFileSync('zbarimg', ['-q', '--raw', join(dir, f)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch (e) {
      out = e.stdout || '';
    }
    urls.push(...out.split('\n').map((l) => l.trim()).filter(Boolean));
  }
  rmSync(dir, { recursive: true, force: true });
  return { texts, urls };
}
const server = await startServer({ QRDESK_LIMITS__MIN_FILL_MS: '0' });
const browser = await launchBrowser();
const email = 'owner@example.ru';
const password = 'correct-horse-battery';

let firstCode = null;
try {
  await test('owner: setup, sign in, code, preview, PDF', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ru-RU', acceptDownloads: true });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));

    await page.goto(server.setup);
    await page.screenshot({ path: join(shots, 'admin-setup-desktop.png'), fullPage: true });
    await page.fill('#email', email);
    await page.fill('#password', password);
    await page.fill('#repeat', password);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/admin$/);
    await page.screenshot({ path: join(shots, 'admin-dashboard-desktop.png'), fullPage: true });

    // Sign out and in again through the sign-in page.
    await page.click('button.link');
    await page.waitForURL(/\/admin\/login$/);
    await page.fill('#email', email);
    await page.fill('#password', 'wrong password!');
    await page.click('button[type=submit]');
    check((await page.textContent('.alert')).includes('Неверный'), 'wrong password refused');
    await page.screenshot({ path: join(shots, 'admin-login-error-desktop.png'), fullPage: true });
    await page.fill('#password', password);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/admin$/);

    await page.goto(server.base + '/admin/catalog?q=кофе');
    const rows = await page.locator('tbody tr').count();
    check(rows >= 2, 'search finds the coffee machines, got ' + rows);
    await page.locator('tbody tr').first().locator('input[type=checkbox]').check();
    await page.screenshot({ path: join(shots, 'admin-catalog-desktop.png'), fullPage: true });
    await page.click('button[value=assets-print]');
    await page.waitForURL(/\/admin\/print\?sel=/);
    check((await page.textContent('.print-form')).includes('Печатаются выбранные коды: 1'), 'the print page names the one code');
    await page.click('text=Посмотреть');
    const code = (await page.textContent('tbody tr a.mono')).trim();
    firstCode = code;
    check(/^[0-9A-Z]{8}$/.test(code), 'a new code: ' + code);
    await page.goto(server.base + '/admin/print?codes=' + code);

    // Preview in the browser before download.
    await page.selectOption('#template', 'avery-l7163');
    await page.fill('#skip', '2');
    await page.click('.print-form button[type=submit]');
    const preview = page.locator('img.sheet-preview');
    await preview.waitFor();
    await page.waitForFunction(() => {
      const img = document.querySelector('img.sheet-preview');
      return img && img.complete && img.naturalWidth > 0;
    });
    await page.screenshot({ path: join(shots, 'admin-print-desktop.png'), fullPage: true });

    const pdfHref = await page.getAttribute('a[href^="/admin/print/labels.pdf"]', 'href');
    const pdf = await context.request.get(server.base + pdfHref);
    check(pdf.status() === 200, 'PDF downloads');
    check((await pdf.body()).subarray(0, 5).toString() === '%PDF-', 'it is a PDF');
    check(pdf.headers()['content-type'] === 'application/pdf', 'PDF content type');

    // A scan (the public form, opened twice: one visitor, one scan).
    await page.goto(server.base + '/q/' + code);
    await page.reload();
    await page.goto(server.base + '/admin/codes/' + code);
    check((await page.textContent('body')).includes(code), 'code page');
    check((await page.locator('.scan-chart rect').count()) === 30, 'a 30-day chart');
    check((await page.textContent('.scan-chart figcaption')).includes('Сканы за 30 дней: 1'), 'one scan: ' + await page.textContent('.scan-chart figcaption'));
    const axeCode = await accessibilityProblems(page);
    check(axeCode.length === 0, 'axe on the code page: ' + axeCode.join('; '));
    await page.screenshot({ path: join(shots, 'admin-code-desktop.png'), fullPage: true });
    await page.goto(server.base + '/admin/codes');
    await page.screenshot({ path: join(shots, 'admin-codes-desktop.png'), fullPage: true });
    await page.goto(server.base + '/admin/requests');
    await page.screenshot({ path: join(shots, 'admin-requests-desktop.png'), fullPage: true });
    await page.goto(server.base + '/admin/users');
    await page.screenshot({ path: join(shots, 'admin-users-desktop.png'), fullPage: true });

    // The connection check, run from its page.
    await page.goto(server.base + '/admin/connection');
    await page.click('text=Проверить сейчас');
    await page.waitForSelector('.conn-result', { timeout: 30000 });
    check((await page.textContent('.conn-result')).includes('Заявки могут создаваться'), 'the check passes against the simulator');
    check((await page.locator('li.conn').count()) >= 8, 'one line per item');
    await page.screenshot({ path: join(shots, 'admin-connection-desktop.png'), fullPage: true });
    check(errors.length === 0, 'no page errors: ' + errors.join('; '));
    await context.close();
  });

  await test('phone: admin pages fit a small screen', async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, locale: 'ru-RU' });
    const page = await context.newPage();
    await page.goto(server.base + '/admin/login');
    await page.screenshot({ path: join(shots, 'admin-login-phone.png'), fullPage: true });
    await page.fill('#email', email);
    await page.fill('#password', password);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/admin$/);
    await page.screenshot({ path: join(shots, 'admin-dashboard-phone.png'), fullPage: true });
    await page.goto(server.base + '/admin/catalog');
    await page.screenshot({ path: join(shots, 'admin-catalog-phone.png'), fullPage: false });
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 360, 'tables scroll inside their box, page width ' + width);
    await page.goto(server.base + '/admin/codes/' + firstCode);
    await page.screenshot({ path: join(shots, 'admin-code-phone.png'), fullPage: true });
    const codeWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    check(codeWidth <= 360, 'the code page fits a phone, width ' + codeWidth);
    // Paused: the page says so with its message and offers only "resume".
    await page.fill('#pause-message', 'Мастер уже едет, спасибо');
    await page.click('button:has-text("Приостановить")');
    await page.waitForSelector('text=Возобновить приём');
    check((await page.textContent('.facts-table')).includes('приостановлен'), 'paused state shown');
    check(await page.locator('button:has-text("Приостановить")').count() === 0, 'no second "pause"');
    const axePaused = await accessibilityProblems(page);
    check(axePaused.length === 0, 'axe on the paused code page: ' + axePaused.join('; '));
    await page.screenshot({ path: join(shots, 'admin-code-paused-phone.png'), fullPage: true });
    await page.click('text=Возобновить приём');
    await page.waitForSelector('#pause-message');
    // Revoking asks first and says what will happen; "Отмена" changes nothing.
    await page.click('button:has-text("Отключить")');
    await page.waitForSelector('text=Отключить код?');
    check((await page.textContent('.confirm')).includes('перестанет принимать заявки'), 'the consequence is stated');
    const axeConfirm = await accessibilityProblems(page);
    check(axeConfirm.length === 0, 'axe on the confirmation: ' + axeConfirm.join('; '));
    await page.screenshot({ path: join(shots, 'admin-confirm-revoke-phone.png'), fullPage: true });
    await page.click('text=Отмена');
    await page.waitForSelector('#pause-message');
    check((await page.textContent('.facts-table')).includes('действует'), 'still active after cancel');
    await page.goto(server.base + '/admin/connection');
    await page.screenshot({ path: join(shots, 'admin-connection-phone.png'), fullPage: true });
    const connWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    check(connWidth <= 360, 'the connection page fits a phone, width ' + connWidth);
    await context.close();
  });

  await test('workbench: everything in a filter prints exactly those codes; the picker on a phone', async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, locale: 'ru-RU' });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await signIn(page);
    // 60 blank stickers: more than one page of the list.
    await page.goto(server.base + '/admin/codes');
    await page.fill('#count', '60');
    await page.click('form:has(#count) button[type=submit]');
    await page.waitForURL(/\/admin\/print\?sel=/);
    await page.goto(server.base + '/admin/codes?state=unassigned');
    const listed = new Set();
    for (let p = 1; p <= 2; p++) {
      await page.goto(server.base + '/admin/codes?state=unassigned&page=' + p);
      for (const a of await page.locator('tbody a.mono').allTextContents()) listed.add(a.trim());
    }
    check(listed.size === 60, 'two pages list the 60 blanks: ' + listed.size);
    await page.goto(server.base + '/admin/codes?state=unassigned');
    await page.check('[data-select-all]');
    check((await page.locator('tbody input[type=checkbox]:checked').count()) === 50, 'the header tick ticks the page');
    check((await page.textContent('[data-selected-count]')).includes('50'), 'the count of ticked rows shows');
    await page.check('#all');
    check((await page.textContent('[data-selected-count]')).includes('все 60'), 'then the whole filter: ' + await page.textContent('[data-selected-count]'));
    const axeList = await accessibilityProblems(page);
    check(axeList.length === 0, 'axe on the codes list: ' + axeList.join('; '));
    await page.screenshot({ path: join(shots, 'admin-codes-selected-phone.png'), fullPage: true });
    await page.click('button[value=print]');
    await page.waitForURL(/\/admin\/print\?sel=/);
    check((await page.textContent('.print-form')).includes('Печатаются выбранные коды: 60'), 'sixty to print');
    await page.screenshot({ path: join(shots, 'admin-print-selection-phone.png'), fullPage: true });
    const pdfHref = await page.getAttribute('a[href^="/admin/print/labels.pdf"]', 'href');
    const pdf = await context.request.get(server.base + pdfHref);
    check(pdf.status() === 200, 'the PDF downloads');
    // The codes as printed for manual entry (the PDF's text): exactly those of
    // the filter; and the QR codes decoded from the pages name only them
    // (zbarimg reading a whole sheet at once may miss a code; every label is
    // decoded on its own by the Rust print tests).
    const { texts, urls } = readPdf(await pdf.body());
    const printed = new Set(texts);
    check(texts.length === 60 && printed.size === 60 && [...printed].every((c) => listed.has(c)), 'exactly the 60 codes of the filter: ' + texts.length);
    check(urls.length >= 55 && urls.every((u) => listed.has(u.split('/').pop())), 'the QR codes name only those: ' + urls.length);

    // Revoking the filter asks first, with the count.
    await page.goto(server.base + '/admin/codes?state=unassigned');
    await page.check('#all');
    await page.click('button[value=revoke]');
    await page.waitForSelector('text=Отключить 60 кодов?');
    const axeConfirm = await accessibilityProblems(page);
    check(axeConfirm.length === 0, 'axe on the bulk confirmation: ' + axeConfirm.join('; '));
    await page.screenshot({ path: join(shots, 'admin-bulk-confirm-phone.png'), fullPage: true });
    await page.click('text=Отмена');
    await page.waitForURL(/state=unassigned/);

    // Ticks set row by row are kept across pages and sent together.
    const boxes = page.locator('tbody input[type=checkbox]');
    await boxes.nth(0).check();
    await boxes.nth(1).check();
    const chosen = (await page.locator('tbody a.mono').allTextContents()).slice(0, 2).map((c) => c.trim());
    await page.goto(server.base + '/admin/codes?state=unassigned&page=2');
    await page.locator('tbody input[type=checkbox]').nth(0).check();
    chosen.push((await page.locator('tbody a.mono').first().textContent()).trim());
    check((await page.textContent('[data-selected-count]')).includes(': 3'), 'three ticked over two pages: ' + await page.textContent('[data-selected-count]'));
    await page.goto(server.base + '/admin/codes?state=unassigned');
    check((await page.locator('tbody input[type=checkbox]:checked').count()) === 2, 'the first page keeps its two ticks');
    await page.screenshot({ path: join(shots, 'admin-codes-ticks-kept-phone.png'), fullPage: true });
    await page.click('button[value=print]');
    await page.waitForURL(/\/admin\/print\?sel=/);
    check((await page.textContent('.print-form')).includes('Печатаются выбранные коды: 3'), 'the three ticked to print');
    const ticksPdf = await context.request.get(server.base + await page.getAttribute('a[href^="/admin/print/labels.pdf"]', 'href'));
    const ticked = readPdf(await ticksPdf.body()).texts;
    check(ticked.length === 3 && chosen.every((c) => ticked.includes(c)), 'exactly the ticked codes are printed: ' + ticked.join(', ') + ' vs ' + chosen.join(', '));
    await page.goto(server.base + '/admin/codes?state=unassigned');
    check((await page.locator('tbody input[type=checkbox]:checked').count()) === 0, 'ticks are forgotten once acted on');

    // A technician scans a blank sticker and lands on the picker.
    const blank = [...listed][0];
    await page.goto(server.base + '/q/' + blank);
    await page.waitForURL(/\/pick$/);
    await page.fill('#q', 'laserjet');
    await page.click('form[role=search] button[type=submit]');
    await page.waitForSelector('.pick');
    check((await page.locator('.pick').count()) >= 1, 'the printer is found');
    check((await page.textContent('.picks')).includes('PHBLM31245'), 'with its serial number');
    const pickWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    check(pickWidth <= 360, 'the picker fits a phone, width ' + pickWidth);
    const axePick = await accessibilityProblems(page);
    check(axePick.length === 0, 'axe on the picker: ' + axePick.join('; '));
    await page.screenshot({ path: join(shots, 'admin-pick-phone.png'), fullPage: true });
    await page.click('.pick button');
    await page.waitForSelector('text=Код привязан');
    check((await page.textContent('.facts-table')).includes('МФУ HP LaserJet'), 'the sticker now points at the printer');
    const form = await page.goto(server.base + '/q/' + blank);
    check(form.status() === 200, 'and opens the form');
    await page.fill('#description', 'Принтер жуёт бумагу на втором лотке');
    await page.check('#consent');
    await page.locator('#submit').click();
    await page.waitForURL(/\/t\/[0-9a-z]{26}$/);

    // The requests workbench: found by a word, opened, on the phone.
    await page.goto(server.base + '/admin/requests?q=' + encodeURIComponent('БУМАГУ'));
    check((await page.textContent('main')).includes('Найдено: 1.'), 'found by a word in any case');
    const axeRequests = await accessibilityProblems(page);
    check(axeRequests.length === 0, 'axe on the requests workbench: ' + axeRequests.join('; '));
    const requestsWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    check(requestsWidth <= 360, 'the workbench fits a phone, width ' + requestsWidth);
    await page.screenshot({ path: join(shots, 'admin-requests-phone.png'), fullPage: true });
    await page.click('td.wrap a');
    await page.waitForSelector('text=Переписка');
    check((await page.textContent('main')).includes('Принтер жуёт бумагу'), 'the request in full');
    const axeRequest = await accessibilityProblems(page);
    check(axeRequest.length === 0, 'axe on a request: ' + axeRequest.join('; '));
    await page.screenshot({ path: join(shots, 'admin-request-phone.png'), fullPage: true });
    const requestUrl = page.url();

    // The asset page, on the phone and a desktop.
    await page.goto(server.base + '/admin/catalog/assets/1003');
    check((await page.textContent('main')).includes(blank), 'the asset page lists its code');
    const axeAsset = await accessibilityProblems(page);
    check(axeAsset.length === 0, 'axe on the asset page: ' + axeAsset.join('; '));
    const assetWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    check(assetWidth <= 360, 'the asset page fits a phone, width ' + assetWidth);
    await page.screenshot({ path: join(shots, 'admin-asset-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: join(shots, 'admin-asset-desktop.png'), fullPage: true });
    await page.goto(server.base + '/admin/codes?state=unassigned');
    await page.screenshot({ path: join(shots, 'admin-codes-bulk-desktop.png'), fullPage: true });
    await page.goto(server.base + '/admin/requests');
    await page.screenshot({ path: join(shots, 'admin-requests-desktop.png'), fullPage: true });
    await page.goto(requestUrl);
    await page.screenshot({ path: join(shots, 'admin-request-desktop.png'), fullPage: true });
    await page.goto(server.base + '/admin/codes/' + blank + '/pick?q=' + encodeURIComponent('Южное'));
    await page.screenshot({ path: join(shots, 'admin-pick-desktop.png'), fullPage: true });
    check(errors.length === 0, 'no page errors: ' + errors.join('; '));
    await context.close();
  });

  await test('english: the switch in the header, remembered, every main page in English, WCAG 2.1 AA', async () => {
    for (const [device, viewport] of [['phone', { width: 360, height: 740 }], ['desktop', { width: 1280, height: 900 }]]) {
      const context = await browser.newContext({ viewport, isMobile: device === 'phone', hasTouch: device === 'phone', locale: 'ru-RU' });
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await signIn(page);
      await page.click('header a.lang');
      await page.waitForURL(/lang=en/);
      check((await page.getAttribute('html', 'lang')) === 'en', device + ': the page is English');
      check((await page.textContent('h1')).includes('Overview'), device + ': the dashboard in English');
      for (const [name, path] of [['dashboard', '/admin'], ['codes', '/admin/codes'], ['catalog', '/admin/catalog'], ['print', '/admin/print'], ['requests', '/admin/requests'], ['integrations', '/admin/settings/integrations']]) {
        await page.goto(server.base + path);
        check((await page.getAttribute('html', 'lang')) === 'en', device + ' ' + name + ': still English without the parameter');
        const nav = await page.textContent('header nav');
        check(nav.includes('Codes') && nav.includes('Settings'), device + ' ' + name + ': the menu in English');
        const axe = await accessibilityProblems(page);
        check(axe.length === 0, device + ' ' + name + ': axe ' + axe.join('; '));
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        check(device !== 'phone' || width <= 360, name + ' fits a phone, width ' + width);
        await page.screenshot({ path: join(shots, 'admin-en-' + name + '-' + device + '.png'), fullPage: true });
      }
      await page.click('header a.lang');
      await page.waitForURL(/lang=ru/);
      check((await page.getAttribute('html', 'lang')) === 'ru', device + ': back to Russian');
      check(errors.length === 0, 'no page errors: ' + errors.join('; '));
      await context.close();
    }
  });

  await test('settings: every page on a phone and a desktop, WCAG 2.1 AA', async () => {
    const pages = [
      ['profile', '/admin/settings'],
      ['cabinet', '/admin/settings/cabinet'],
      ['integrations', '/admin/settings/integrations'],
      ['webhooks', '/admin/settings/webhooks'],
      ['tokens', '/admin/settings/tokens'],
      ['privacy', '/admin/settings/privacy?who=ivan@example.ru'],
      ['audit', '/admin/settings/audit'],
      ['api-docs', '/api/docs'],
    ];
    for (const [device, viewport] of [['phone', { width: 360, height: 740 }], ['desktop', { width: 1280, height: 900 }]]) {
      const context = await browser.newContext({ viewport, isMobile: device === 'phone', hasTouch: device === 'phone', locale: 'ru-RU' });
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(server.base + '/admin/login');
      await page.fill('#email', email);
      await page.fill('#password', password);
      await page.click('button[type=submit]');
      await page.waitForURL(/\/admin$/);
      if (device === 'phone') {
        // Something to show: the organisation, a token shown once, a webhook with its secret.
        await page.goto(server.base + '/admin/settings/cabinet');
        await page.fill('#org-name', 'ООО «Сервис-Инжиниринг»');
        await page.fill('#org-description', 'Эксплуатация зданий на Тверской, 7');
        await page.click('form[action="/admin/settings/cabinet"] button[type=submit]');
        await page.waitForURL(/done=cabinet/);
        await page.goto(server.base + '/admin/settings/tokens');
        await page.fill('#token-description', 'Интеграция с сайтом');
        await page.click('form[action="/admin/settings/tokens"] button[type=submit]');
        const token = await page.inputValue('#new-token');
        check(/^qrd_[0-9A-Za-z]{36}$/.test(token), 'a token is shown once: ' + token);
        await page.screenshot({ path: join(shots, 'settings-token-created-phone.png'), fullPage: true });
        await page.goto(server.base + '/admin/settings/webhooks');
        await page.fill('#url', 'https://example.ru/hooks/qrdesk');
        await page.fill('#description', 'CRM');
        await page.click('form[action="/admin/settings/webhooks"] button[type=submit]');
        check((await page.inputValue('#webhook-secret')).startsWith('whsec_'), 'the secret is shown once');
        await page.screenshot({ path: join(shots, 'settings-webhook-created-phone.png'), fullPage: true });
        await page.goto(server.base + '/');
        check((await page.textContent('header')).includes('Сервис-Инжиниринг'), 'the organisation heads the public pages');
        await page.screenshot({ path: join(shots, 'public-index-org-phone.png'), fullPage: true });
      }
      for (const [name, path] of [...pages, ['webhook', '/admin/settings/webhooks/1']]) {
        await page.goto(server.base + path);
        await page.screenshot({ path: join(shots, `settings-${name}-${device}.png`), fullPage: true });
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        check(width <= viewport.width, `${name} fits the ${device}, width ${width}`);
        const problems = await accessibilityProblems(page);
        check(problems.length === 0, `${name} on the ${device}: ` + problems.join('; '));
      }
      check(errors.length === 0, 'no page errors: ' + errors.join('; '));
      await context.close();
    }
  });
  await test('own catalog (Bitrix24): add with a refusal, change, CSV preview and import, on a phone and a desktop, WCAG 2.1 AA', async () => {
    const b24 = await startServer({ QRDESK_BACKEND__KIND: 'bitrix24', QRDESK_LIMITS__MIN_FILL_MS: '0' });
    try {
      const setup = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ru-RU' });
      const first = await setup.newPage();
      await first.goto(b24.setup);
      await first.fill('#email', email);
      await first.fill('#password', password);
      await first.fill('#repeat', password);
      await first.click('button[type=submit]');
      await first.waitForURL(/\/admin/);
      await setup.close();
      const csv = 'Название;Участок;Адрес;Серийный номер;Инвентарный номер\n' +
        'Насос ГВС Wilo;Котельная;"Москва, ул. Лесная, 5, котельная";WL-5521;ИНВ-0300\n' +
        ';Склад;Подольск, ул. Складская, 12;;\n' +
        'Тепловая завеса Ballu BHC-L15;Склад;Подольск, ул. Складская, 12, ворота 2;BH-L15-0091;\n';
      for (const [device, viewport] of [['phone', { width: 360, height: 740 }], ['desktop', { width: 1280, height: 900 }]]) {
        const context = await browser.newContext({ viewport, isMobile: device === 'phone', hasTouch: device === 'phone', locale: 'ru-RU' });
        const page = await context.newPage();
        const errors = [];
        page.on('pageerror', (e) => errors.push(String(e)));
        await page.goto(b24.base + '/admin/login');
        await page.fill('#email', email);
        await page.fill('#password', password);
        await page.click('button[type=submit]');
        await page.waitForURL(/\/admin$/);
        const look = async (name) => {
          const axe = await accessibilityProblems(page);
          check(axe.length === 0, device + ' ' + name + ': axe ' + axe.join('; '));
          const width = await page.evaluate(() => document.documentElement.scrollWidth);
          check(width <= viewport.width, name + ' fits the ' + device + ', width ' + width);
          await page.screenshot({ path: join(shots, 'admin-own-' + name + '-' + device + '.png'), fullPage: true });
        };
        await page.goto(b24.base + '/admin/catalog');
        check((await page.textContent('main')).includes('Bitrix24 не хранит оборудование'), device + ': the catalog says who keeps it');
        await look('catalog');
        await page.click('a[href="/admin/catalog/new"]');
        await page.fill('#site', 'Котельная');
        await page.click('form[action="/admin/catalog/new"] button[type=submit]');
        check((await page.textContent('.alert')).includes('Укажите название оборудования'), device + ': a missing name is said');
        check((await page.inputValue('#site')) === 'Котельная', device + ': what was typed stays');
        await look('new-refused');
        await page.fill('#name', 'Вентиляционная установка П' + device.length);
        await page.fill('#address', 'Москва, ул. Лесная, 5, крыша');
        await page.click('form[action="/admin/catalog/new"] button[type=submit]');
        await page.waitForURL(/done=asset-saved/);
        check((await page.textContent('main')).includes('Оборудование сохранено.'), device + ': saved');
        await look('asset');
        await page.click('a[href$="/edit"]');
        await look('edit');
        await page.goto(b24.base + '/admin/catalog/import');
        await page.setInputFiles('#file', { name: 'assets.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
        await page.click('form[action="/admin/catalog/import"] button[type=submit]');
        await page.waitForSelector('text=Проверка файла');
        check((await page.textContent('main')).includes('Можно добавить: 2. С ошибками: 1'), device + ': the preview counts rows');
        await look('import-preview');
        await page.click('form[action="/admin/catalog/import/confirm"] button[type=submit]');
        await page.waitForURL(/done=imported/);
        await page.goto(b24.base + '/admin/settings/integrations');
        check((await page.textContent('main')).includes('встроенный симулятор Bitrix24'), device + ': the integrations page names Bitrix24');
        check(!(await page.textContent('main')).includes('HubEx'), device + ': and says nothing of HubEx');
        await look('integrations');
        check(errors.length === 0, 'no page errors: ' + errors.join('; '));
        await context.close();
      }
      // A scan of the demo sticker becomes a task in the Bitrix24 portal.
      const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, locale: 'ru-RU' });
      const page = await phone.newPage();
      await page.goto(b24.formUrl);
      await page.fill('#description', 'Насос гудит и не качает воду');
      await page.check('#consent');
      await page.click('form button[type=submit]');
      await page.waitForURL(/\/t\//);
      // The page shows the task's number once Bitrix24 has the task.
      await page.waitForSelector('.number', { timeout: 30000 });
      const portal = new URL(b24.sim).origin;
      const tasks = (await (await fetch(portal + '/__sim/tasks')).json()).tasks;
      check(tasks.length === 1 && tasks[0].title === 'Насос гудит и не качает воду', 'the scan made one Bitrix24 task: ' + JSON.stringify(tasks.map((t) => t.title)));
      await page.screenshot({ path: join(shots, 'b24-status-phone.png'), fullPage: true });
      await phone.close();
    } finally {
      await stopServer(b24);
    }
  });
  await test('EvaTeam: a scan of the demo sticker becomes one task there, and the status page follows it', async () => {
    const eva = await startServer({ QRDESK_BACKEND__KIND: 'evateam', QRDESK_LIMITS__MIN_FILL_MS: '0' });
    try {
      const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, locale: 'ru-RU' });
      const page = await phone.newPage();
      await page.goto(eva.formUrl);
      await page.fill('#description', 'Кондиционер капает на стол');
      await page.check('#consent');
      await page.click('form button[type=submit]');
      await page.waitForURL(/\/t\//);
      await page.waitForSelector('.number', { timeout: 30000 });
      check((await page.textContent('.number')).includes('SUP-000001'), 'the EvaTeam code is the number');
      const axe = await accessibilityProblems(page);
      check(axe.length === 0, 'status page: axe ' + axe.join('; '));
      const origin = new URL(eva.sim).origin;
      const tasks = (await (await fetch(origin + '/__sim/tasks')).json()).tasks;
      check(tasks.length === 1 && tasks[0].name === 'Кондиционер капает на стол', 'one EvaTeam task: ' + JSON.stringify(tasks.map((t) => t.name)));
      await page.screenshot({ path: join(shots, 'eva-status-phone.png'), fullPage: true });
      await phone.close();
    } finally {
      await stopServer(eva);
    }
  });
} finally {
  await browser.close();
  await stopServer(server);
}

finish();
