// Browser tests: Debian's chromium, driven by playwright-core, against `registrar demo` on a
// random port with a fresh SQLite database. Screenshots of the key pages go to
// e2e/artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import net from 'node:net';
import { chromium } from 'playwright-core';

const here = resolve(import.meta.dirname);
const artifacts = join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });
const binary = process.env.E2E_BINARY ?? resolve(here, '..', 'target', 'debug', 'registrar');

let server, browser, page, base, token;

function freePort() {
  return new Promise((ok, fail) => {
    const probe = net.createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => ok(port));
    });
  });
}

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const cwd = mkdtempSync(join(tmpdir(), 'registrar-e2e-'));
  // The demo's own SQLite file, whatever database the caller's environment names.
  const env = { ...process.env, RUST_LOG: 'warn', REGISTRAR_BASE_URL: base };
  delete env.DATABASE_URL;
  delete env.REGISTRAR_DATABASE_URL;
  server = spawn(binary, ['demo', '--port', String(port)], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`demo did not start:\n${output}`)), 60_000);
    server.stdout.on('data', (chunk) => {
      output += chunk;
      const match = output.match(/Staff API token \(Authorization: Bearer …\): ([0-9a-f]{64})/);
      if (match) {
        token = match[1];
        clearTimeout(timer);
        ok();
      }
    });
    server.once('exit', (code) => fail(new Error(`demo exited with ${code}:\n${output}`)));
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
});

const pause = (ms) => new Promise((ok) => setTimeout(ok, ms));

/** Reloads a page until it lists `text` (jobs do the work in the background). */
async function eventuallyListed(tab, path, text, tries = 50) {
  for (let i = 0; i < tries; i++) {
    await tab.goto(`${base}${path}`);
    if ((await tab.locator('td', { hasText: text }).count()) > 0) return true;
    await pause(200);
  }
  return false;
}

async function simulatorControl(name, knobs) {
  const reply = await fetch(`${base}/_simulators/${name}/_control`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(knobs),
  });
  assert.equal(reply.status, 204);
}

/** Follows the verification link a job mailed to `email`, read from the demo outbox. */
async function verifyFromOutbox(tab, email) {
  const mail = tab.locator('article', { hasText: email }).filter({ hasText: '/verify/' }).first();
  for (let i = 0; i < 50 && (await mail.count()) === 0; i++) {
    await tab.goto(`${base}/_dev/mail`);
    if ((await mail.count()) === 0) await pause(200);
  }
  const link = (await mail.locator('pre').innerText()).match(/http\S+\/verify\/[0-9a-f]+/)[0];
  await tab.goto(link);
  assert.equal(await tab.locator('h1').innerText(), 'Email confirmed');
}

/** Submits the sign-in form, again while the export screening is still under way. */
async function signIn(tab, email, next) {
  for (let i = 0; i < 25; i++) {
    await tab.goto(`${base}/signin${next ? `?next=${encodeURIComponent(next)}` : ''}`);
    await tab.fill('#email', email);
    await tab.fill('#password', 'analytical engine');
    const [reply] = await Promise.all([
      tab.waitForResponse((r) => r.url().startsWith(`${base}/signin`) && r.request().method() === 'POST'),
      tab.click('form.stack button[type=submit]'),
    ]);
    await tab.waitForLoadState();
    if (reply.status() !== 403 || !(await reply.text()).includes('being reviewed')) return;
    await pause(200);
  }
}

/** Signs the shared page in to the staff area, if it is not already. */
async function staffSignIn() {
  await page.goto(`${base}/staff/`);
  if ((await page.locator('#token').count()) > 0) {
    await page.fill('#token', token);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/staff/`);
  }
}

async function signUp(tab, { email, username, lastName }) {
  await tab.goto(`${base}/signup`);
  await tab.fill('#email', email);
  await tab.fill('#name', `Ada ${lastName}`);
  await tab.fill('#username', username);
  await tab.fill('#password', 'analytical engine');
  await tab.fill('#first_name', 'Ada');
  await tab.fill('#last_name', lastName);
  await tab.selectOption('#country', 'GB');
  await tab.check('input[name="g-recaptcha-response"]');
  await tab.click('form.stack button[type=submit]');
  assert.equal(await tab.locator('h1').innerText(), 'Check your email');
}

const shot = (name) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });

test('browse the catalog', async () => {
  await page.goto(`${base}/catalog/`);
  assert.equal(await page.title(), 'Catalog · Registrar');
  const cards = await page.locator('.card').count();
  assert.ok(cards >= 10, `expected a page of cards, got ${cards}`);
  assert.match(await page.locator('#results').innerText(), /^\d+ results$/);
  await shot('catalog');
});

test('filter the catalog by storefront and search', async () => {
  await page.goto(`${base}/catalog/`);
  await page.selectOption('#platform', 'xpro');
  await page.selectOption('#kind', 'course');
  await page.click('form.filters button[type=submit]');
  await page.waitForURL(/platform=xpro/);
  const badges = await page.locator('.card .badge.xpro').count();
  const cards = await page.locator('.card').count();
  assert.ok(cards > 0);
  assert.equal(badges, cards, 'every card is an xPRO course');
  assert.equal(await page.locator('.card .badge.mitxonline').count(), 0);
  await page.fill('#price_min', 'abc');
  await page.click('form.filters button[type=submit]');
  assert.match(await page.locator('.field-error').innerText(), /is not a decimal amount/);
  assert.equal(await page.inputValue('#price_min'), 'abc', 'the typed value stays');
  await shot('catalog-filtered');
});

test('open a course and a program', async () => {
  await page.goto(`${base}/catalog/?kind=course`);
  const first = page.locator('.card h3 a').first();
  const title = await first.innerText();
  await first.click();
  await page.waitForURL(/\/courses\//);
  assert.equal(await page.locator('h1').innerText(), title);
  assert.ok(await page.locator('h2', { hasText: 'Runs' }).isVisible());
  // The panel offers what can be done now (enroll, buy, the vendor's site) or a disabled button.
  const panel = page.locator('aside[aria-label="Enrollment"]');
  assert.ok((await panel.locator('button, a.button').count()) > 0, 'the enrollment panel has an action');
  assert.ok((await page.locator('#enroll-reason').innerText()).length > 0);
  await shot('course');
  await page.goto(`${base}/catalog/?kind=program`);
  await page.locator('.card h3 a').first().click();
  await page.waitForURL(/\/programs\//);
  assert.ok(await page.locator('h2', { hasText: 'Requirements' }).isVisible());
  assert.ok((await page.locator('.tree a').count()) > 0, 'the tree links its courses');
  await shot('program');
});

test('staff edits a course title and the public page shows it; a bad form shows its error', async () => {
  await page.goto(`${base}/staff/`);
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.waitForURL(`${base}/staff/`);
  await page.click('text=Courses and runs');
  await page.locator('table a').first().click();
  await page.waitForURL(/\/staff\/courses\/course-v1/);
  const path = new URL(page.url()).pathname.replace('/staff/courses/', '');
  const renamed = `Renamed in a browser ${Date.now()}`;
  await page.fill('#title', renamed);
  await page.click('form.stack button[type=submit]');
  await page.waitForURL(/saved=1/);
  assert.ok(await page.locator('.flash.ok').isVisible());
  await page.goto(`${base}/courses/${path}/`);
  assert.equal(await page.locator('h1').innerText(), renamed);
  await shot('course-renamed');

  await page.goto(`${base}/staff/courses/${path}`);
  const start = page.locator('input[name="runs[0].start_date"]');
  await start.fill('2030-01-10T00:00');
  await page.fill('input[name="runs[0].end_date"]', '2030-01-01T00:00');
  await page.fill('#title', 'Not saved');
  await page.click('form.stack button[type=submit]');
  assert.ok(await page.locator('.flash.error').isVisible());
  assert.match(await page.locator('.field-error').first().innerText(), /must not be before start_date/);
  assert.equal(await page.inputValue('#title'), 'Not saved', 'the rejected values stay filled');
  await shot('staff-form-error');
  await page.goto(`${base}/courses/${path}/`);
  assert.equal(await page.locator('h1').innerText(), renamed, 'the rejected form saved nothing');
});

test('sign up, verify from the mail outbox, enroll free; the Open edX simulator has the user and the enrollment', async () => {
  const stamp = Date.now();
  const email = `learner${stamp}@example.edu`;
  const learner = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  await learner.goto(`${base}/signup`);
  await learner.fill('#email', email);
  await learner.fill('#name', 'Ada Lovelace');
  await learner.fill('#username', `ada${stamp}`);
  await learner.fill('#password', 'analytical engine');
  await learner.fill('#first_name', 'Ada');
  await learner.fill('#last_name', 'Lovelace');
  await learner.selectOption('#country', 'US');
  await learner.click('form.stack button[type=submit]');
  assert.match(await learner.locator('.flash.error').innerText(), /not created/, 'the US needs a state');
  assert.equal(await learner.inputValue('#email'), email, 'typed values stay');
  await learner.fill('#password', 'analytical engine');
  await learner.selectOption('#state', 'US-MA');
  await learner.click('form.stack button[type=submit]');
  assert.match(await learner.locator('.field-error').last().innerText(), /not a robot/, 'the robot check is required');
  await learner.fill('#password', 'analytical engine');
  await learner.check('input[name="g-recaptcha-response"]');
  await learner.click('form.stack button[type=submit]');
  assert.equal(await learner.locator('h1').innerText(), 'Check your email');

  await verifyFromOutbox(learner, email);
  await signIn(learner, email);
  await learner.waitForURL(`${base}/dashboard`);
  assert.match(await learner.locator('main').innerText(), new RegExp(email));
  await learner.screenshot({ path: join(artifacts, 'dashboard.png'), fullPage: true });

  // The worker screened the account (export compliance), then provisioned it.
  assert.ok(await eventuallyListed(learner, '/_simulators/cybersource', email), 'CyberSource screened the new user');
  assert.ok(await eventuallyListed(learner, '/_simulators/openedx', email), 'the simulated Open edX has the new user');

  // Open edX fails the next call: the job waits for edX (10 s, using no attempt) and the
  // enrollment arrives once.
  await simulatorControl('openedx', { fail_next: 1 });

  // Enroll for free in a MITx Online course that is enrolling now.
  await learner.goto(`${base}/catalog/?kind=course&platform=mitxonline&when=enrollable`);
  await learner.locator('.card h3 a').first().click();
  await learner.waitForURL(/\/courses\//);
  await learner.click('button:has-text("Enroll for free (audit)")');
  await learner.waitForURL(`${base}/dashboard`);
  const courseKey = await learner.locator('table code').first().innerText();
  assert.ok(await eventuallyListed(learner, '/_simulators/openedx', courseKey, 100), `the simulated Open edX has the enrollment in ${courseKey}`);
  assert.equal(await learner.locator('td', { hasText: courseKey }).count(), 1, 'exactly one edX enrollment');
  await learner.screenshot({ path: join(artifacts, 'openedx-simulator.png'), fullPage: true });
  await learner.goto(`${base}/dashboard`);
  await learner.screenshot({ path: join(artifacts, 'dashboard-enrolled.png'), fullPage: true });
  await learner.close();
});

test('an export-compliance denial blocks the account and staff can clear it', async () => {
  const stamp = Date.now();
  const email = `denied${stamp}@example.edu`;
  const learner = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  await signUp(learner, { email, username: `eve${stamp}`, lastName: 'Denied' });
  await verifyFromOutbox(learner, email);
  assert.ok(await eventuallyListed(learner, '/_simulators/cybersource', email), 'CyberSource screened the account');
  let denied = false;
  for (let i = 0; i < 25 && !denied; i++) {
    await signIn(learner, email);
    denied = (await learner.locator('h1').innerText()) === 'We cannot activate your account';
    if (!denied) await pause(200);
  }
  assert.ok(denied, 'the denied learner cannot sign in');
  await learner.screenshot({ path: join(artifacts, 'signin-denied.png'), fullPage: true });

  await staffSignIn();
  await page.goto(`${base}/staff/users/`);
  await page.click(`a:has-text("${email}")`);
  assert.match(await page.locator('main').innerText(), /DENIED · reason 700 · info code MATCH-DPC/);
  await page.click('button:has-text("Approve manually and activate")');
  assert.match(await page.locator('.flash').innerText(), /Approved manually/);
  await shot('staff-user-approved');

  await signIn(learner, email);
  await learner.waitForURL(`${base}/dashboard`);
  assert.ok(await eventuallyListed(learner, '/_simulators/openedx', email), 'cleared, the account reaches Open edX');
  await learner.close();
});

/** Opens enrollable courses of a storefront until one offers its paid track; its page URL. */
async function courseOnSale(tab, platform, button) {
  await tab.goto(`${base}/catalog/?kind=course&platform=${platform}&when=enrollable`);
  const links = await tab.locator('.card h3 a').evaluateAll((as) => as.map((a) => a.href));
  for (const link of links) {
    await tab.goto(link);
    if ((await tab.locator(`button:has-text("${button}")`).count()) > 0) return link;
  }
  throw new Error(`no ${platform} course offers "${button}"`);
}

test('buy a course: basket before sign-in, pay through the simulator, receipt and enrollment; a declined card or a cancel charges nothing', async () => {
  const stamp = Date.now();
  const email = `buyer${stamp}@example.edu`;
  const setup = await browser.newPage();
  await signUp(setup, { email, username: `buyer${stamp}`, lastName: 'Hopper' });
  await verifyFromOutbox(setup, email);
  await setup.close();

  const buyer = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const course = await courseOnSale(buyer, 'xpro', 'Enroll now');
  await buyer.click('button:has-text("Enroll now")');
  await buyer.waitForURL(`${base}/cart/`);
  assert.match(await buyer.locator('main').innerText(), /Total/);
  assert.equal(await buyer.locator('a:has-text("Sign in to check out")').getAttribute('href'), '/signin?next=/cart/');
  await signIn(buyer, email, '/cart/');
  await buyer.waitForURL(`${base}/cart/`);
  const total = await buyer.locator('td.price').innerText();
  await buyer.screenshot({ path: join(artifacts, 'basket.png'), fullPage: true });

  await buyer.click('button:has-text("Check out and pay")');
  await buyer.waitForURL(/_simulators\/cybersource\/pay/);
  assert.match(await buyer.locator('h1').innerText(), /Pay/);
  await buyer.screenshot({ path: join(artifacts, 'cybersource-pay.png'), fullPage: true });
  await buyer.click('button:has-text("(accepted)")');
  await buyer.waitForURL(/\/orders\/\d+\/\?paid=1/);
  assert.match(await buyer.locator('main').innerText(), /your payment went through/);
  assert.match(await buyer.locator('main').innerText(), new RegExp(total.replace(/[$.,]/g, '\\$&')));
  await buyer.screenshot({ path: join(artifacts, 'receipt.png'), fullPage: true });

  await buyer.goto(`${base}/dashboard`);
  assert.match(await buyer.locator('main').innerText(), /no-id-professional/, 'enrolled in the paid track');
  const courseKey = await buyer.locator('table code').first().innerText();
  assert.ok(await eventuallyListed(buyer, '/_simulators/openedx', courseKey), 'the paid enrollment reaches Open edX');
  assert.equal(await buyer.locator('tr', { hasText: courseKey }).locator('td', { hasText: 'no-id-professional' }).count(), 1);

  // A second course, paid with a card the bank declines.
  const other = await courseOnSale(buyer, 'mitxonline', 'Get the certificate track');
  assert.notEqual(other, course);
  await buyer.click('button:has-text("Get the certificate track")');
  await buyer.waitForURL(`${base}/cart/`);
  await buyer.click('button:has-text("Check out and pay")');
  await buyer.waitForURL(/_simulators\/cybersource\/pay/);
  await buyer.click('button:has-text("(declined)")');
  await buyer.waitForURL(/\/cart\/\?payment=declined/);
  assert.match(await buyer.locator('.flash').innerText(), /declined; nothing was charged/);
  assert.match(await buyer.locator('main').innerText(), /Check out and pay/, 'the basket is kept to try again');
  // Trying again, the learner cancels on the payment page: nothing is charged either.
  await buyer.click('button:has-text("Check out and pay")');
  await buyer.waitForURL(/_simulators\/cybersource\/pay/);
  await buyer.click('button:has-text("Cancel and return to the store")');
  await buyer.waitForURL(/\/cart\/\?payment=canceled/);
  assert.match(await buyer.locator('.flash').innerText(), /canceled; nothing was charged/);
  await buyer.goto(`${base}/orders/`);
  assert.match(await buyer.locator('main').innerText(), /fulfilled/);
  assert.match(await buyer.locator('main').innerText(), /declined/);
  await buyer.screenshot({ path: join(artifacts, 'orders.png'), fullPage: true });

  // Staff refund the paid order through the simulated REST API: the enrollment ends in edX.
  await staffSignIn();
  await page.goto(`${base}/staff/orders/?q=${encodeURIComponent(email)}&state=fulfilled`);
  await page.locator('table a').first().click();
  await page.fill('#reason', 'refund asked by the learner');
  await page.click('button:has-text("Refund through CyberSource")');
  await page.waitForURL(/\/staff\/orders\/\d+$/);
  assert.match(await page.locator('main').innerText(), /fulfilled → refunded/);
  await shot('staff-order-refunded');
  let ended = false;
  for (let i = 0; i < 60 && !ended; i++) {
    await buyer.goto(`${base}/_simulators/openedx`);
    ended = (await buyer.locator('tr', { hasText: courseKey }).locator('td', { hasText: /^false$/ }).count()) > 0;
    if (!ended) await pause(250);
  }
  assert.ok(ended, 'the refunded enrollment is deactivated in Open edX');
  await buyer.close();
});

test('an organisation buys seats without an account, pays, gets codes; a learner redeems one and is enrolled', async () => {
  const stamp = Date.now();
  const buyer = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  await buyer.goto(`${base}/ecommerce/bulk/`);
  const product = await buyer.locator('#product_id option').nth(1).getAttribute('value');
  await buyer.selectOption('#product_id', product);
  await buyer.fill('#num_seats', '0');
  await buyer.fill('#email', `buyer${stamp}@corp.example`);
  await buyer.click('form.stack button[type=submit]');
  assert.match(await buyer.locator('#num_seats-error').innerText(), /num_seats must be from 1 to/);
  assert.equal(await buyer.locator('#email').inputValue(), `buyer${stamp}@corp.example`, 'nothing typed is lost');
  await buyer.fill('#num_seats', '3');
  await buyer.fill('#contract_number', `PO-${stamp}`);
  await buyer.click('form.stack button[type=submit]');
  await buyer.waitForURL(/_simulators\/cybersource\/pay/);
  await buyer.click('button:has-text("(accepted)")');
  await buyer.waitForURL(/\/ecommerce\/bulk\/receipt\/\?hash=/);
  assert.match(await buyer.locator('td.state').innerText(), /fulfilled/);
  const links = await buyer.locator('table.codes a').evaluateAll((as) => as.map((a) => a.href));
  assert.equal(links.length, 3, 'one code per seat');
  const csv = await (await fetch(await buyer.locator('a:has-text("Download the codes")').evaluate((a) => a.href))).text();
  assert.ok(csv.includes(links[0].replace(base, '')), 'the spreadsheet holds the same links');
  await buyer.screenshot({ path: join(artifacts, 'bulk-receipt.png'), fullPage: true });
  await buyer.close();

  const email = `seat${stamp}@example.edu`;
  const learner = await browser.newPage();
  await signUp(learner, { email, username: `seat${stamp}`, lastName: 'Lovelace' });
  await verifyFromOutbox(learner, email);
  await learner.goto(links[0]);
  await learner.waitForURL(/\/signin\?next=/);
  await signIn(learner, email, new URL(links[0]).pathname + new URL(links[0]).search);
  await learner.waitForURL(/\/redeem\//);
  await learner.click('button:has-text("Add to my basket with this code")');
  await learner.waitForURL(`${base}/cart/`);
  assert.equal(await learner.locator('td.price').innerText(), 'Free');
  await learner.click('button:has-text("Complete order (nothing to pay)")');
  await learner.waitForURL(/\/orders\/\d+\//);
  await learner.goto(`${base}/dashboard`);
  assert.match(await learner.locator('main').innerText(), /no-id-professional/, 'enrolled in the paid track');
  await learner.close();
});

test('the edX simulator grades a learner, its webhook and staff bring the certificate, staff revoke it and its page says so', async () => {
  const stamp = Date.now();
  const email = `graded${stamp}@example.edu`;
  const username = `graded${stamp}`;
  const learner = await browser.newPage();
  await signUp(learner, { email, username, lastName: 'Curie' });
  await verifyFromOutbox(learner, email);
  assert.ok(await eventuallyListed(learner, '/_simulators/openedx', email), 'the learner reaches Open edX');

  // An xPRO run: xPRO certifies whoever edX says passed.
  await staffSignIn();
  await page.goto(`${base}/catalog/?kind=course&platform=xpro`);
  const coursePath = new URL(await page.locator('.card h3 a').first().evaluate((a) => a.href)).pathname;
  await page.goto(`${base}/staff${coursePath.replace(/\/$/, '')}`);
  const courseware = await page.locator('fieldset legend code').first().innerText();

  await learner.goto(`${base}/_simulators/openedx`);
  const grading = learner.locator('form[action$="/_grades"]');
  await grading.locator('input[name="username"]').fill(username);
  await grading.locator('input[name="course_id"]').fill(courseware);
  await grading.locator('input[name="percent"]').fill('0.91');
  await grading.locator('button:has-text("Set grade")').click();
  assert.ok(await eventuallyListed(learner, '/_simulators/openedx', '0.91'), 'edX holds the grade');
  assert.ok(
    await eventuallyListed(learner, '/_simulators/openedx', '/api/openedx_webhook/certificate/'),
    'edX told Registrar about the certificate',
  );

  await page.click(`button:has-text("Sync grades of ${courseware}")`);
  await page.waitForURL(/grades=queued/);
  await signIn(learner, email);
  let link = null;
  for (let i = 0; i < 50 && !link; i++) {
    await learner.goto(`${base}/dashboard`);
    const found = learner.locator('a[href^="/certificate/"]');
    if ((await found.count()) > 0) link = await found.first().getAttribute('href');
    else await pause(200);
  }
  assert.ok(link, 'the certificate is on the dashboard');
  await learner.goto(`${base}${link}`);
  assert.match(await learner.locator('article').innerText(), /Ada Curie/);
  assert.match(await learner.locator('article').innerText(), /Valid Certificate ID/);
  assert.match(await learner.locator('.signatories').innerText(), /Executive Director/);
  await learner.screenshot({ path: join(artifacts, 'certificate.png'), fullPage: true });

  // Staff revoke it from the learner's page; the public page says so and why.
  await page.goto(`${base}/staff/users/`);
  await page.click(`a:has-text("${email}")`);
  await page.locator('input[name="reason"]').first().fill('academic integrity');
  await page.locator('button:has-text("Revoke")').first().click();
  await learner.goto(`${base}${link}`);
  assert.match(await learner.locator('[role="alert"]').innerText(), /revoked \(academic integrity\)/);
  await learner.close();
});
