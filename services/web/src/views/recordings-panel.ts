/**
 * Recordings on the robot (docs/recording.md): start/stop an on-demand recording, list the files (black box and
 * on demand) and download one. The robot's HTTP address is asked once per robot and remembered: recordings are
 * served by the robot itself, not through signaling.
 */
import { h, replace, setText, formatTime } from '../dom.js';
import { RecordingsApi, RecordingsApiError, type RecordingEntry } from '../recordings-api.js';

const urlKey = (robotId: string): string => `robostream.recordings-url.${robotId}`;

function size(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} kB`;
}

export class RecordingsPanel {
  readonly el: HTMLElement;
  private readonly urlInput: HTMLInputElement;
  private readonly recordBtn = h(
    'button',
    { type: 'button', 'data-testid': 'record-toggle' },
    'Start recording',
  );
  private readonly refreshBtn = h('button', { type: 'button' }, 'Refresh');
  private readonly status = h('div', { class: 'muted small', 'data-testid': 'recordings-status' });
  private readonly list = h('ul', { class: 'recordings', 'data-testid': 'recordings-list' });
  private recording = false;

  constructor(
    private readonly robotId: string,
    private readonly token: string,
  ) {
    this.urlInput = h('input', {
      type: 'url',
      'data-testid': 'recordings-url',
      placeholder: 'http://robot:9110',
      // Nothing is called until an address is given (remembered per robot): a guessed one would be a request to
      // a host the operator never named, refused by the console's CSP anyway unless listed there.
      value: localStorage.getItem(urlKey(robotId)) ?? '',
    });
    this.urlInput.addEventListener('change', () => {
      localStorage.setItem(urlKey(this.robotId), this.urlInput.value.trim());
      void this.refresh();
    });
    this.recordBtn.addEventListener('click', () => void this.toggle());
    this.refreshBtn.addEventListener('click', () => void this.refresh());
    this.el = h(
      'section',
      { class: 'card recordings-panel', 'data-testid': 'recordings-panel' },
      h('h3', {}, 'Recordings'),
      h('label', { class: 'small' }, 'Robot HTTP address ', this.urlInput),
      h('div', { class: 'row' }, this.recordBtn, this.refreshBtn),
      this.status,
      this.list,
    );
    if (this.urlInput.value.trim()) void this.refresh();
    else
      setText(
        this.status,
        "Enter the robot's HTTP address (its streamer port, 9110 by default) to see recordings.",
      );
  }

  private api(): RecordingsApi {
    return new RecordingsApi(this.urlInput.value.trim(), this.token);
  }

  async refresh(): Promise<void> {
    try {
      const { recordings, status } = await this.api().list();
      this.recording = status.recording !== null;
      setText(this.recordBtn, this.recording ? 'Stop recording' : 'Start recording');
      const parts = [
        status.blackbox.on
          ? `black box: last ${Math.round(status.blackbox.seconds / 60)} min`
          : 'black box off',
        status.recording
          ? `recording since ${formatTime(status.recording.since)} (${status.recording.by})`
          : null,
        status.gateway.url
          ? status.gateway.connected
            ? 'gateway: recorded'
            : 'gateway: not reachable'
          : null,
        status.lastError ? `last error: ${status.lastError}` : null,
      ];
      setText(this.status, parts.filter(Boolean).join(' · '));
      replace(this.list, ...[...recordings].reverse().map((r) => this.row(r)));
    } catch (err) {
      this.showError(err);
    }
  }

  private row(r: RecordingEntry): HTMLElement {
    const btn = h('button', { type: 'button', class: 'small', 'data-testid': 'download' }, 'Download');
    btn.addEventListener('click', () => void this.download(r.name));
    return h(
      'li',
      { 'data-name': r.name },
      h('span', {}, `${r.kind === 'blackbox' ? 'black box' : 'recording'} ${formatTime(r.startedAt)}`),
      ' ',
      h('span', { class: 'muted small' }, `${size(r.bytes)}${r.active ? ' · writing' : ''}`),
      ' ',
      btn,
    );
  }

  private async toggle(): Promise<void> {
    try {
      if (this.recording) await this.api().stop();
      else await this.api().start();
    } catch (err) {
      this.showError(err);
    }
    await this.refresh();
  }

  private async download(name: string): Promise<void> {
    try {
      const blob = await this.api().download(name);
      const a = h('a', { href: URL.createObjectURL(blob), download: name });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
    } catch (err) {
      this.showError(err);
    }
  }

  private showError(err: unknown): void {
    const e = err instanceof RecordingsApiError ? `${e_(err)}` : String(err);
    setText(this.status, e);
  }
}

function e_(err: RecordingsApiError): string {
  if (err.code === 'forbidden') return 'This token does not grant recordings on this robot.';
  if (err.code === 'unreachable') return `Recordings unavailable: ${err.message}`;
  return `${err.code}: ${err.message}`;
}
