// The customer's path through pmrobokassa's pages in a real browser:
// Debian's chromium driven by playwright-core (no browser download).
//
// Started by run_browser_test.py, which runs lighttpd with the CGIs and the
// Robokassa emulator on 127.0.0.1, creates one payment per flow and writes
// the plan this script reads from the file named by RK_PLAN. Each flow opens
// the payment link in a fresh browser context (language from Accept-Language
// or the billmgrlang5 cookie, JavaScript on or off), follows the form to the
// emulator, pays or cancels there, and lands on rksuccess / rkfail (or, with
// manager_url configured, on the panel's URL). On every page it checks the
// language, console errors, CSP violations, width at 360 px and basic
// accessibility, and takes the screenshots the plan asks for. The outcome
// of each flow goes to the JSON file named by RK_RESULTS; the exit code is
// 0 only when every flow passed.

import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const plan = JSON.parse(fs.readFileSync(process.env.RK_PLAN, 'utf-8'));
const resultsPath = process.env.RK_RESULTS;
const STEP_TIMEOUT = 10_000;
const MIN_CONTRAST = 4.5;

// A stuck browser must not hold the suite: give up well before the runner's
// own timeout, with whatever results are in.
const watchdog = setTimeout(() => {
  console.error('customer_path: overall time limit reached');
  process.exit(3);
}, plan.timeoutMs ?? 90_000);
watchdog.unref();

const LAUNCH_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-features=Translate,MediaRouter,OptimizationHints',
  '--font-render-hinting=none',
];

function log(message) {
  console.log(`customer_path: ${message}`);
}

// ---------------------------------------------------------------- in-page checks

// Runs inside the page (works with JavaScript disabled: Playwright evaluates
// through the DevTools protocol, not the page's own scripts).
function inspectPage(minContrast) {
  const problems = [];
  const root = document.documentElement;
  const lang = root.getAttribute('lang') || '';
  if (!lang.trim()) problems.push('<html> has no lang attribute');
  if (!document.title.trim()) problems.push('the page has no <title>');

  function parse(color) {
    const m = /^rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$/.exec(color);
    if (!m) return null;
    return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])];
  }
  function over(top, bottom) { // top composited over an opaque bottom
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat(1);
  }
  function background(element) {
    const chain = [];
    for (let e = element; e; e = e.parentElement) chain.unshift(e);
    let result = [255, 255, 255, 1]; // the canvas
    for (const e of chain) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c === null) return null;
      if (c[3] > 0) result = over(c, result);
    }
    return result;
  }
  function luminance(c) {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }
  function contrast(a, b) {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  }

  let textElements = 0;
  let lowest = Infinity;
  for (const element of document.body.querySelectorAll('*')) {
    const ownText = [...element.childNodes]
      .filter((n) => n.nodeType === Node.TEXT_NODE)
      .map((n) => n.textContent).join('').trim();
    if (!ownText) continue;
    const style = getComputedStyle(element);
    if (style.visibility !== 'visible' || style.display === 'none'
        || element.getClientRects().length === 0) continue;
    textElements += 1;
    const bg = background(element);
    const fgRaw = parse(style.color);
    if (bg === null || fgRaw === null) {
      problems.push(`cannot read the colours of <${element.localName}> "${ownText.slice(0, 30)}"`
                    + ` (${style.color} on ${style.backgroundColor})`);
      continue;
    }
    const ratio = contrast(over(fgRaw, bg), bg);
    lowest = Math.min(lowest, ratio);
    if (ratio < minContrast) {
      problems.push(`contrast ${ratio.toFixed(2)} < ${minContrast} for <${element.localName}>`
                    + ` "${ownText.slice(0, 30)}" (${style.color} on ${style.backgroundColor})`);
    }
  }
  return {
    lang,
    title: document.title,
    text: document.body.innerText,
    scrollWidth: root.scrollWidth,
    clientWidth: root.clientWidth,
    textElements,
    controls: document.querySelectorAll(
      'button, a[href], input:not([type=hidden]), select, textarea').length,
    lowestContrast: lowest === Infinity ? null : Math.round(lowest * 100) / 100,
    problems,
  };
}

// The focused element's outline and its contrast against the background
// behind it (the parent's, as the outline is drawn outside the element).
function focusIndicator() {
  const element = document.activeElement;
  const tag = element ? element.localName : 'nothing';
  const control = !!element && element.matches('button, a[href], input, select, textarea');
  if (!control) return { control, tag };
  const style = getComputedStyle(element);
  const parse = (c) => {
    const m = /^rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$/.exec(c);
    if (!m) return null;
    return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])];
  };
  let bg = [255, 255, 255];
  const chain = [];
  for (let e = element.parentElement; e; e = e.parentElement) chain.unshift(e);
  for (const e of chain) {
    const c = parse(getComputedStyle(e).backgroundColor);
    if (c && c[3] > 0) bg = [0, 1, 2].map((i) => c[i] * c[3] + bg[i] * (1 - c[3]));
  }
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const width = parseFloat(style.outlineWidth) || 0;
  const outline = `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`;
  // 'auto' is the browser's own two-tone ring, made to show on any background.
  if (style.outlineStyle === 'auto') {
    return { control, tag, visible: true, contrast: null, outline };
  }
  const visible = style.outlineStyle !== 'none' && width >= 2;
  const fg = parse(style.outlineColor);
  if (!visible || !fg) return { control, tag, visible, contrast: null, outline };
  const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x);
  const contrast = Math.round(((hi + 0.05) / (lo + 0.05)) * 100) / 100;
  return { control, tag, visible, outline, contrast };
}

const INTERACTIVE_ROLES = new Set([
  'button', 'link', 'textbox', 'searchbox', 'checkbox', 'radio', 'combobox', 'listbox',
  'spinbutton', 'slider', 'switch', 'menuitem', 'tab', 'option',
]);

// The browser's own accessibility tree: every control has a computed
// accessible name, and there is at least one heading.
async function accessibilityProblems(page) {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { nodes } = await cdp.send('Accessibility.getFullAXTree');
    const problems = [];
    let headings = 0;
    let controls = 0;
    for (const node of nodes) {
      if (node.ignored) continue;
      const role = node.role?.value;
      const name = (node.name?.value ?? '').trim();
      if (role === 'heading' && name) headings += 1;
      if (INTERACTIVE_ROLES.has(role)) {
        controls += 1;
        if (!name) problems.push(`a ${role} has no accessible name`);
      }
    }
    if (headings === 0) problems.push('no heading in the accessibility tree');
    return { problems, headings, controls };
  } finally {
    await cdp.detach();
  }
}

// ---------------------------------------------------------------- a flow

class Flow {
  constructor(spec) {
    this.spec = spec;
    this.errors = [];
    this.notes = [];
    this.screenshots = [];
    this.checks = 0;
  }

  check(condition, message) {
    this.checks += 1;
    if (!condition) this.errors.push(message);
    return condition;
  }

  // Everything a page shows must be in the flow's language and pass the
  // width and accessibility checks; `kind` names the page in messages.
  async checkPage(page, kind) {
    const spec = this.spec;
    const lang = spec.language;
    const info = await page.evaluate(inspectPage, MIN_CONTRAST);
    this.check(info.lang === lang, `${kind}: <html lang="${info.lang}">, expected "${lang}"`);
    for (const phrase of spec.texts[kind][lang]) {
      this.check(info.text.includes(phrase), `${kind}: "${phrase}" not on the page (${lang})`);
    }
    const other = lang === 'ru' ? 'en' : 'ru';
    for (const phrase of spec.texts[kind][other]) {
      // Only whole phrases of the other language count (e.g. "Pay" is in
      // "Payment"): match them as words.
      const word = new RegExp(`(^|[^\\p{L}])${phrase.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`
                              + '($|[^\\p{L}])', 'u');
      this.check(!word.test(info.text), `${kind}: "${phrase}" (${other}) on a ${lang} page`);
    }
    if (lang === 'en') {
      const cyrillic = info.text.match(/[\u0400-\u04FF]+/u);
      this.check(!cyrillic, `${kind}: Russian text "${cyrillic?.[0]}" on an English page`);
    } else {
      this.check(/[\u0400-\u04FF]/u.test(info.title),
                 `${kind}: the title "${info.title}" is not Russian`);
    }
    const width = page.viewportSize().width;
    this.check(info.scrollWidth <= width,
               `${kind}: scrolls sideways at ${width} px (scrollWidth ${info.scrollWidth})`);
    for (const problem of info.problems) this.check(false, `${kind}: ${problem}`);
    this.check(info.textElements > 0, `${kind}: no visible text`);
    if (info.controls > 0) await this.checkFocus(page, kind);
    const a11y = await accessibilityProblems(page);
    for (const problem of a11y.problems) this.check(false, `${kind}: ${problem}`);
    this.notes.push(`${kind}: lang=${info.lang}, ${a11y.headings} heading(s), ${a11y.controls} `
                    + `control(s), lowest contrast ${info.lowestContrast}, `
                    + `width ${info.scrollWidth}/${width}`);
    const shot = spec.screenshots?.[kind];
    if (shot) {
      const file = path.join(plan.screenshotDir, shot);
      // Down to the card's bottom edge (plus the page's margin), not the
      // empty rest of the phone's screen: smaller files, a compact README.
      const bottom = await page.evaluate(() => {
        const card = document.querySelector('main') ?? document.body;
        return Math.ceil(card.getBoundingClientRect().bottom + window.scrollY);
      });
      const { width: pageWidth } = page.viewportSize();
      const clip = { x: 0, y: 0, width: pageWidth, height: Math.max(bottom + 24, 200) };
      await page.screenshot({ path: file, fullPage: true, clip, animations: 'disabled',
                              caret: 'hide' });
      this.screenshots.push(file);
    }
  }

  async run(browser) {
    const spec = this.spec;
    const context = await browser.newContext({
      locale: spec.locale,
      extraHTTPHeaders: { 'Accept-Language': spec.acceptLanguage },
      javaScriptEnabled: spec.javaScript,
      viewport: spec.viewport,
      deviceScaleFactor: 1,
      colorScheme: 'light',
      reducedMotion: 'reduce',
    });
    context.setDefaultTimeout(STEP_TIMEOUT);
    context.setDefaultNavigationTimeout(STEP_TIMEOUT);
    try {
      if (spec.cookie) await context.addCookies([spec.cookie]); // { name, value, url }
      // securitypolicyviolation events (pages run scripts only with JS on;
      // with JS off the console messages below still report violations).
      const violations = [];
      await context.exposeBinding('__rkCspViolation', (_source, v) => violations.push(v));
      await context.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) => {
          window.__rkCspViolation(
            `${e.violatedDirective} blocked ${e.blockedURI} on ${e.documentURI}`);
        });
      });
      const page = await context.newPage();
      this.navigations = [];
      page.on('request', (request) => {
        if (request.isNavigationRequest() && request.frame() === page.mainFrame()) {
          this.navigations.push(request);
        }
      });
      const consoleErrors = [];
      page.on('console', (message) => {
        const text = message.text();
        // The browser asks every origin for /favicon.ico by itself; our test
        // servers have none (the panel's web server serves one).
        if (message.location().url.endsWith('/favicon.ico')) return;
        if (message.type() === 'error' || /Content.Security.Policy/i.test(text)) {
          consoleErrors.push(`${message.type()}: ${text} (${message.location().url})`);
        }
      });
      page.on('pageerror', (error) => consoleErrors.push(`page error: ${error.message}`));
      page.on('requestfailed', (request) => {
        if (request.url().endsWith('/favicon.ico')) return;
        consoleErrors.push(`request failed: ${request.method()} ${request.url()} `
                           + `${request.failure()?.errorText}`);
      });
      try {
        await this.walk(page);
      } finally {
        // Also when a step failed: a CSP violation is often why.
        for (const error of consoleErrors) this.check(false, `console: ${error}`);
        for (const violation of violations) this.check(false, `CSP violation: ${violation}`);
      }
    } finally {
      await context.close();
    }
  }

  async walk(page) {
    const spec = this.spec;
    const t = spec.texts;
    const lang = spec.language;

    // 1. The payment link: rkpayment's page with its form.
    let response;
    if (spec.javaScript) {
      // The page submits itself while it loads; wait for the gateway.
      // The page is gone before its body can be read back from the
      // browser, so keep a copy on the way through (same bytes, same headers).
      let body = '';
      await page.route(spec.link, async (route) => {
        const original = await route.fetch({ maxRedirects: 0 });
        body = await original.text();
        await route.fulfill({ response: original });
      });
      const gateway = page.waitForURL((url) => url.href.startsWith(plan.gatewayUrl),
                                      { waitUntil: 'load' });
      response = await page.goto(spec.link, { waitUntil: 'commit' });
      this.checkPaymentResponse(response);
      if (this.check(body.includes('<form'), 'payment: the page could not be read')) {
        this.check(body.includes(`<html lang="${lang}">`), `payment: not lang="${lang}"`);
        for (const phrase of t.payment[lang]) {
          this.check(body.includes(phrase), `payment: "${phrase}" not in the page (${lang})`);
        }
      }
      await gateway;
      this.notes.push('payment: the form submitted itself');
    } else {
      response = await page.goto(spec.link, { waitUntil: 'load' });
      this.checkPaymentResponse(response);
      await this.checkPage(page, 'payment');
      const button = page.getByRole('button', { name: t.payment[lang].at(-1) });
      this.check(await button.isVisible(), 'payment: the continue button is not visible');
      await Promise.all([
        page.waitForURL((url) => url.href.startsWith(plan.gatewayUrl), { waitUntil: 'load' }),
        button.click(),
      ]);
      this.notes.push('payment: the visible button submitted the form without JavaScript');
    }

    // 2. The gateway (the Robokassa emulator): pay or cancel.
    await this.checkPage(page, 'gateway');
    const testMode = await page.locator('.test-mode').count();
    this.check(testMode === 1, 'gateway: the test-mode mark is missing');
    const [payLabel, cancelLabel] = t.gateway[lang].slice(1, 3);
    const choice = page.getByRole('button', { name: spec.outcome === 'pay' ? payLabel : cancelLabel,
                                              exact: true });
    const landing = spec.outcome === 'pay' ? 'success' : 'fail';
    const func = spec.outcome === 'pay' ? 'payment.success' : 'payment.fail';
    const landingPath = `/mancgi/rk${landing}`;
    const target = spec.managerUrl
      ? `${spec.managerUrl}?func=${func}&elid=${spec.paymentId}`
      : null;
    const arrived = (url) => (target ? url.href === target : url.pathname === landingPath);

    if (spec.javaScript) {
      // The emulator's redirect page submits itself to the shop.
      await Promise.all([page.waitForURL(arrived, { waitUntil: 'load' }), choice.click()]);
    } else {
      await Promise.all([page.waitForURL((url) => url.pathname.startsWith('/emulator/'),
                                         { waitUntil: 'load' }), choice.click()]);
      const back = page.getByRole('button', { name: t.gatewayReturn[lang] });
      await Promise.all([page.waitForURL(arrived, { waitUntil: 'load' }), back.click()]);
    }

    // 3. Back at the shop.
    if (target) {
      // POST rk<landing> -> 302 -> GET manager_url?func=...&elid=ID
      this.check(page.url() === target, `landed on ${page.url()}, expected ${target}`);
      const arrival = this.navigations.findLast((r) => r.url() === target);
      const from = arrival?.redirectedFrom();
      const redirect = from ? await from.response() : null;
      this.check(from && new URL(from.url()).pathname === landingPath,
                 `the panel was not reached through a redirect from ${landingPath}`);
      this.check(redirect?.status() === 302 && redirect.headers().location === target,
                 `${landingPath} answered ${redirect?.status()} `
                 + `-> ${redirect?.headers().location}`);
      this.notes.push(
        `${landing}: ${from?.method()} ${landingPath} -> ${redirect?.status()} ${target}`);
      return;
    }
    const url = new URL(page.url());
    this.check(url.pathname === landingPath, `landed on ${url.pathname}, expected ${landingPath}`);
    await this.checkPage(page, landing);
  }

  // Keyboard users see where they are: Tab reaches the first control and
  // its focus indicator stands out from what surrounds it (WCAG 1.4.11: 3:1).
  async checkFocus(page, kind) {
    await page.keyboard.press('Tab');
    const focus = await page.evaluate(focusIndicator);
    if (!this.check(focus.control, `${kind}: Tab does not reach a control (${focus.tag})`)) return;
    this.check(focus.visible, `${kind}: the focused ${focus.tag} shows no focus indicator`);
    this.check(focus.contrast === null || focus.contrast >= 3,
               `${kind}: focus outline ${focus.outline} has contrast ${focus.contrast} < 3 `
               + 'against the background');
    await page.keyboard.press('Shift+Tab');
  }

  checkPaymentResponse(response) {
    this.check(response !== null && response.status() === 200,
               `payment: HTTP ${response?.status()} for the payment link`);
    if (!response) return;
    const csp = response.headers()['content-security-policy'] ?? '';
    this.check(csp.includes(`form-action ${new URL(plan.gatewayUrl).origin}`),
               `payment: the CSP does not allow the gateway's origin: ${csp}`);
  }
}

// ---------------------------------------------------------------- main

async function main() {
  fs.mkdirSync(plan.screenshotDir, { recursive: true });
  const started = Date.now();
  const browser = await chromium.launch({
    executablePath: plan.chromium,
    headless: true,
    args: LAUNCH_ARGS,
    timeout: 30_000,
  });
  log(`chromium ${browser.version()} started in ${Date.now() - started} ms`);
  const results = [];
  try {
    for (const spec of plan.flows) {
      const flow = new Flow(spec);
      const t0 = Date.now();
      try {
        await flow.run(browser);
      } catch (error) {
        flow.errors.push(`stopped: ${error.message.split('\n')[0]}`);
      }
      const ms = Date.now() - t0;
      log(`${flow.errors.length ? 'FAIL' : 'ok  '} ${spec.name} (${flow.checks} checks, ${ms} ms)`);
      for (const error of flow.errors) log(`     ${error}`);
      results.push({ name: spec.name, errors: flow.errors, notes: flow.notes,
                     screenshots: flow.screenshots, checks: flow.checks, ms });
    }
  } finally {
    await browser.close();
  }
  fs.writeFileSync(resultsPath, JSON.stringify({ flows: results }, null, 2));
  return results.every((r) => r.errors.length === 0) ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (error) => {
  console.error(`customer_path: ${error.stack ?? error}`);
  process.exitCode = 2;
});
