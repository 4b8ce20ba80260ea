/**
 * Chromium parses the user-agent style sheet for media elements when it first styles a <video>, and loads a font
 * on the first text set in it. In the robot view's first frame after the operator's click that was 5-41 ms of
 * style recalculation on the page's main thread (median 12 ms, over 9 clicks traced in the compose stack), right
 * while the robot's answer arrives, which then waits. One hidden camera tile, level meter and e-stop rendered as
 * the console starts pay it ahead: median 7.5 ms after, no style sheet parse (docs/web.md). Removed after two frames; never visible, never
 * focusable, no media.
 */
import { h } from '../dom.js';
import { LevelMeter } from '../level-meter.js';
import { cameraTile } from './robot-view.js';

export function warmUpRendering(parent: HTMLElement): void {
  const box = h(
    'div',
    { class: 'render-warm-up', 'aria-hidden': 'true', inert: true },
    cameraTile('camera').el,
    new LevelMeter('Robot', 'warm-up-level').el,
    h('span', { class: 'pill ok' }, 'Live'),
    h('button', { type: 'button', class: 'estop', tabindex: '-1' }, 'E-STOP'),
  );
  parent.append(box);
  requestAnimationFrame(() => requestAnimationFrame(() => box.remove()));
}
