/**
 * The gateway panel: control lock and deadman, driving (DrivePanel), live telemetry per service, the command form
 * (advanced) and a log.
 */
import { h, replace, setText, formatTime, formatDuration } from '../dom.js';
import type { GatewaySession, GatewayState } from '../gateway-session.js';
import type { ServiceView } from '../gateway-model.js';
import { DrivePanel } from './drive-panel.js';

const STATE_TEXT: Record<GatewayState, string> = {
  opening: 'Opening gateway session…',
  connecting: 'Connecting data channels…',
  authenticating: 'Authenticating with the gateway…',
  ready: 'Gateway linked',
  reconnecting: 'Gateway link interrupted — reconnecting…',
  failed: 'Gateway unavailable',
  closed: 'Gateway session closed',
};

/** Flattens a telemetry payload to rows of key -> value (nested objects as dotted keys). */
function rows(payload: unknown, prefix = ''): [string, string][] {
  if (payload === null || typeof payload !== 'object') return [[prefix || 'value', fmt(payload)]];
  const out: [string, string][] = [];
  for (const [k, val] of Object.entries(payload as Record<string, unknown>)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (val !== null && typeof val === 'object' && !Array.isArray(val) && out.length < 24)
      out.push(...rows(val, key));
    else out.push([key, fmt(val)]);
  }
  return out;
}

function fmt(v: unknown): string {
  // At most 3 decimals, and no trailing zeros: a slowly changing value still shows each change.
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(3)));
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

export class GatewayPanel {
  readonly el: HTMLElement;
  private readonly stateEl = h('span', { class: 'pill', 'data-testid': 'gateway-state' });
  private readonly stateDetail = h('span', { class: 'muted small' });
  private readonly lockHolder = h('strong', { 'data-testid': 'lock-holder' });
  private readonly lockCause = h('span', { class: 'muted small' });
  private readonly deadman = h('span', { class: 'pill', 'data-testid': 'deadman' });
  private readonly takeBtn = h('button', { 'data-testid': 'lock-take', type: 'button' }, 'Take control');
  private readonly releaseBtn = h('button', { 'data-testid': 'lock-release', type: 'button' }, 'Release');
  private readonly takeoverBtn = h(
    'button',
    { 'data-testid': 'lock-takeover', type: 'button', class: 'warn' },
    'Take over',
  );
  private readonly telemetry = h('div', { class: 'telemetry', 'data-testid': 'telemetry' });
  private readonly serviceList = h('datalist', { id: 'gateway-services' });
  private readonly serviceInput = h('input', {
    name: 'service',
    list: 'gateway-services',
    placeholder: 'service',
    required: true,
    pattern: '^[a-z][a-z0-9_\\-]{0,31}$',
    autocomplete: 'off',
  });
  private readonly payloadInput = h(
    'textarea',
    { name: 'payload', rows: 3, spellcheck: false },
    '{"action": "start"}',
  );
  private readonly formHint = h('div', { class: 'small muted', 'data-testid': 'command-hint' });
  private readonly log = h('ol', { class: 'log', 'data-testid': 'gateway-log' });
  private readonly cards = new Map<
    string,
    { card: HTMLElement; rate: HTMLElement; body: HTMLElement; state: HTMLElement }
  >();
  private timer: ReturnType<typeof setInterval>;
  private loggedCount = 0;
  private commandCard!: HTMLElement;

  private readonly drive: DrivePanel;

  constructor(private readonly gw: GatewaySession) {
    this.drive = new DrivePanel(gw);
    this.takeBtn.addEventListener('click', () => this.refuseIfDown(gw.takeLock()));
    this.releaseBtn.addEventListener('click', () => this.refuseIfDown(gw.releaseLock()));
    this.takeoverBtn.addEventListener('click', () => this.refuseIfDown(gw.takeoverLock()));
    const form = h(
      'form',
      { class: 'command-form', 'data-testid': 'command-form' },
      h(
        'div',
        { class: 'row' },
        this.serviceInput,
        h('button', { type: 'submit', class: 'primary' }, 'Send command'),
      ),
      this.payloadInput,
      this.formHint,
      this.serviceList,
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.sendCommand();
    });
    this.el = h(
      'div',
      { class: 'gateway-panel' },
      h(
        'section',
        { class: 'card' },
        h('h3', {}, 'Gateway'),
        h('div', { class: 'row' }, this.stateEl, this.stateDetail),
      ),
      h(
        'section',
        { class: 'card' },
        h('h3', {}, 'Control'),
        h('div', { class: 'kv' }, h('span', {}, 'Lock'), h('span', {}, this.lockHolder, ' ', this.lockCause)),
        h('div', { class: 'kv' }, h('span', {}, 'Deadman'), this.deadman),
        h('div', { class: 'row buttons' }, this.takeBtn, this.releaseBtn, this.takeoverBtn),
      ),
      this.drive.el,
      h('section', { class: 'card' }, h('h3', {}, 'Telemetry'), this.telemetry),
      (this.commandCard = h(
        'section',
        { class: 'card', 'data-testid': 'command-card' },
        h('h3', {}, 'Command'),
        form,
      )),
      h('section', { class: 'card grow' }, h('h3', {}, 'Log'), this.log),
    );
    gw.on('state', () => this.render());
    gw.on('change', () => this.render());
    // Rates and ages move even when no message arrives.
    this.timer = setInterval(() => this.render(), 500);
    this.render();
  }

  dispose(): void {
    clearInterval(this.timer);
    this.drive.dispose();
  }

  private refuseIfDown(sent: boolean): void {
    if (!sent) this.gw.model.note(Date.now(), 'error', false, 'not sent: the gateway link is not up');
    this.render();
  }

  private sendCommand(): void {
    const service = this.serviceInput.value.trim();
    let payload: unknown;
    try {
      payload = JSON.parse(this.payloadInput.value || 'null');
    } catch (err) {
      setText(this.formHint, `payload is not JSON: ${err instanceof Error ? err.message : String(err)}`);
      this.formHint.className = 'small bad';
      return;
    }
    const id = this.gw.command(service, payload);
    setText(this.formHint, id ? `sent ${id} to ${service}` : 'not sent: the gateway link is not up');
    this.formHint.className = id ? 'small muted' : 'small bad';
    if (id)
      this.gw.model.note(Date.now(), 'info', true, `command ${id} -> ${service} ${JSON.stringify(payload)}`);
    this.render();
  }

  private render(): void {
    const m = this.gw.model;
    const state = this.gw.state;
    setText(this.stateEl, STATE_TEXT[state]);
    this.stateEl.dataset['state'] = state;
    this.stateEl.className = `pill ${state === 'ready' ? 'ok' : state === 'failed' || state === 'closed' ? 'bad' : 'warn'}`;
    const up = state === 'ready';

    const holder = m.lock.holder;
    setText(this.lockHolder, !holder ? 'free' : m.iHoldLock ? `you (${holder.sub})` : holder.sub);
    this.lockHolder.dataset['holder'] = !holder ? 'free' : m.iHoldLock ? 'me' : 'other';
    setText(this.lockCause, holder ? `link ${holder.link}` : '');
    this.takeBtn.disabled = !up || holder !== null;
    this.releaseBtn.disabled = !up || !m.iHoldLock;
    this.takeoverBtn.disabled = !up || holder === null || m.iHoldLock;
    // Controls only for those the token lets use them; the gateway refuses the rest anyway.
    this.takeBtn.hidden = this.releaseBtn.hidden = !m.may('drive');
    this.takeoverBtn.hidden = !m.may('supervise');
    this.commandCard.hidden = !m.may('drive');

    setText(this.deadman, m.deadman === 'ok' ? 'ok' : 'TRIPPED');
    this.deadman.dataset['status'] = m.deadman;
    this.deadman.className = `pill ${m.deadman === 'ok' ? 'ok' : 'bad'}`;

    const names = [...m.services.keys()].sort();
    if (this.serviceList.childElementCount !== names.length) {
      replace(this.serviceList, ...names.map((n) => h('option', { value: n })));
      if (!this.serviceInput.value && names[0]) this.serviceInput.value = names[0];
    }
    if (!names.length) setText(this.telemetry, up ? 'No robot service has connected to the gateway.' : '');
    else if (this.telemetry.firstChild?.nodeType === Node.TEXT_NODE) this.telemetry.replaceChildren();
    for (const name of names) this.renderService(m.services.get(name)!);

    if (m.log.length !== this.loggedCount || this.log.childElementCount === 0) {
      this.loggedCount = m.log.length;
      replace(
        this.log,
        ...m.log
          .slice(-60)
          .reverse()
          .map((e) =>
            h(
              'li',
              { class: `kind-${e.kind} ${e.ok ? '' : 'bad'}`, 'data-kind': e.kind },
              h('time', {}, formatTime(e.at)),
              ' ',
              e.text,
            ),
          ),
      );
    }
  }

  private renderService(s: ServiceView): void {
    let c = this.cards.get(s.service);
    if (!c) {
      const rate = h('span', { class: 'muted small', 'data-testid': 'rate' });
      const state = h('span', { class: 'dot' });
      const body = h('div', { class: 'tm-body' });
      const card = h(
        'div',
        { class: 'tm-card', 'data-service': s.service },
        h('div', { class: 'tm-head' }, state, h('strong', {}, s.service), rate),
        body,
      );
      this.telemetry.append(card);
      this.cards.set(s.service, (c = { card, rate, body, state }));
    }
    const now = Date.now();
    const hz = this.gw.model.rate(s, now);
    c.state.className = `dot ${s.up ? 'ok' : 'bad'}`;
    const latest = Math.max(0, ...[...s.topics.values()].map((t) => t.at));
    setText(
      c.rate,
      `${s.up ? '' : 'DOWN · '}${hz.toFixed(1)} Hz${latest ? ` · ${formatDuration(now - latest)} ago` : ''}${s.dropped ? ` · ${s.dropped} dropped` : ''}`,
    );
    const lines: HTMLElement[] = [];
    for (const [topic, value] of s.topics) {
      if (topic) lines.push(h('div', { class: 'tm-topic' }, topic));
      for (const [k, val] of rows(value.payload)) {
        lines.push(
          h(
            'div',
            { class: 'kv' },
            h('span', {}, k),
            h('span', { 'data-key': topic ? `${topic}.${k}` : k }, val),
          ),
        );
      }
    }
    const sig = lines.map((l) => l.textContent).join('|');
    if (c.body.dataset['sig'] !== sig) {
      c.body.dataset['sig'] = sig;
      replace(c.body, ...lines);
    }
  }
}
