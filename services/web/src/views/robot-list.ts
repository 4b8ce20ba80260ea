/** The robots the token grants, with live presence. */
import { h, replace, formatDuration } from '../dom.js';
import type { RobotDirectory } from '../robot-directory.js';

/** How long the pointer rests on a robot before the console prepares its media connection. */
const HOVER_INTENT_MS = 80;

export class RobotList {
  readonly el = h('nav', { class: 'robot-list', 'data-testid': 'robot-list' });
  selected: string | null = null;

  constructor(
    private readonly dir: RobotDirectory,
    private readonly onSelect: (robotId: string) => void,
    /** The operator is about to open this robot: the pointer is over it, or it has the focus. */
    private readonly onIntent: (robotId: string) => void = () => undefined,
  ) {
    dir.on('change', () => this.render());
    this.render();
  }

  render(): void {
    const robots = [...this.dir.robots.values()].sort(
      (a, b) =>
        Number(b.endpoints.size > 0) - Number(a.endpoints.size > 0) || a.robotId.localeCompare(b.robotId),
    );
    if (!robots.length) {
      replace(
        this.el,
        h(
          'p',
          { class: 'muted empty' },
          'No robot granted by this token is online. Robots appear here as they connect.',
        ),
      );
      return;
    }
    replace(
      this.el,
      ...robots.map((r) => {
        const online = r.endpoints.size > 0;
        const cams = this.dir.cameras(r.robotId);
        const btn = h(
          'button',
          {
            type: 'button',
            class: `robot-item ${online ? 'online' : 'offline'} ${this.selected === r.robotId ? 'selected' : ''}`,
            'data-robot': r.robotId,
            'data-online': online,
          },
          h('span', { class: `dot ${online ? 'ok' : 'off'}` }),
          h(
            'span',
            { class: 'robot-item-text' },
            h('strong', {}, this.dir.displayName(r.robotId)),
            h(
              'span',
              { class: 'small muted' },
              online
                ? `${r.robotId} · ${[...r.endpoints.keys()].sort().join(' + ')}${cams.length ? ` · ${cams.length} cam` : ''}`
                : `${r.robotId} · offline${r.offlineSince ? ` ${formatDuration(Date.now() - r.offlineSince)}` : ''}`,
            ),
          ),
        );
        btn.addEventListener('click', () => this.onSelect(r.robotId));
        if (online) {
          // A pointer resting on the robot, not one passing over the list on its way elsewhere.
          let rest: ReturnType<typeof setTimeout> | undefined;
          btn.addEventListener('pointerenter', () => {
            rest = setTimeout(() => this.onIntent(r.robotId), HOVER_INTENT_MS);
          });
          btn.addEventListener('pointerleave', () => clearTimeout(rest));
          for (const ev of ['pointerdown', 'focus'] as const)
            btn.addEventListener(ev, () => this.onIntent(r.robotId));
        }
        return btn;
      }),
    );
  }
}
