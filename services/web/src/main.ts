/**
 * The operator console: sign in with an app token, see the robots it grants, open one to watch, talk to and
 * drive it. Signaling is the authority on the token; the page only decodes it to say who and until when.
 */
import { SignalingClient, type ClientState } from '@robostream/protocol/client';
import { h, replace, setText, formatDuration, formatTime } from './dom.js';
import {
  decodeToken,
  forgetToken,
  signalingUrl,
  storeToken,
  takeTokenFromLocation,
  TokenFormatError,
  type TokenInfo,
} from './token.js';
import { RobotDirectory } from './robot-directory.js';
import { RobotList } from './views/robot-list.js';
import { RobotView, mediaShapeFor, offerCameraPreference } from './views/robot-view.js';
import { OfferPreparer } from './offer-preparer.js';
import { signInView } from './views/sign-in.js';
import { warmUpWebRtc } from './webrtc-warm-up.js';
import { warmUpRendering } from './views/render-warm-up.js';

const root = document.getElementById('app')!;
const EXPIRY_WARNING_MS = 10 * 60_000;

const SIGNALING_TEXT: Record<ClientState, string> = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  authenticating: 'Signing in…',
  ready: 'Connected',
  reconnecting: 'Reconnecting…',
  closed: 'Disconnected',
};

/** Token errors from signaling, in words a person can act on. */
const REFUSALS: Record<string, string> = {
  token_expired: 'Your token has expired. Paste a fresh one to continue.',
  token_invalid: 'Signaling refused this token (forged, malformed, or for another deployment).',
  wrong_role: 'This is not an app token. The console needs an app token.',
  forbidden: 'This token is not allowed here.',
};

let session: { client: SignalingClient; stop: () => void } | null = null;

function signIn(reason: string | null): void {
  session?.stop();
  session = null;
  document.title = 'robostream — sign in';
  replace(
    root,
    h(
      'header',
      { class: 'topbar' },
      h('span', { class: 'brand' }, 'robostream'),
      h('span', { class: 'muted' }, 'operator console'),
    ),
    signInView(reason, (token) => start(token)),
  );
}

function start(token: string): void {
  let info: TokenInfo;
  try {
    info = decodeToken(token);
  } catch (err) {
    forgetToken();
    return signIn(
      err instanceof TokenFormatError ? `That is not a usable app token: ${err.message}.` : String(err),
    );
  }
  if (info.expiresAt !== null && info.expiresAt <= Date.now()) {
    forgetToken();
    return signIn(`Your token expired at ${new Date(info.expiresAt).toLocaleString()}. Paste a fresh one.`);
  }
  storeToken(info.token);
  session?.stop();
  warmUpWebRtc();

  const client = new SignalingClient({
    url: signalingUrl(),
    token: info.token,
    clientName: 'robostream-web',
  });
  const dir = new RobotDirectory();
  let view: RobotView | null = null;
  const sigPill = h('span', { class: 'pill', 'data-testid': 'signaling-state' });
  const who = h('span', { class: 'who' });
  const banner = h('div', { class: 'banner', hidden: true, 'data-testid': 'banner' });
  const main = h('section', { class: 'main-pane' });
  // The media connection of the robot the operator is likely to open next, made ready before the click: the one
  // the pointer rests on, pressed or focused, or the first online robot while none is open.
  const preparer = new OfferPreparer(client);
  const prepareFor = (robotId: string): void => {
    if (dir.robots.get(robotId)?.endpoints.has('media'))
      preparer.prepare(mediaShapeFor(dir, robotId, offerCameraPreference()));
  };
  const list = new RobotList(
    dir,
    (id) => select(id),
    (id) => {
      if (view?.robotId !== id) prepareFor(id);
    },
  );
  dir.on('change', () => {
    if (view) return;
    const first = [...dir.robots.values()]
      .filter((r) => r.endpoints.has('media'))
      .map((r) => r.robotId)
      .sort()[0];
    if (first) prepareFor(first);
  });
  const signOut = h('button', { type: 'button', class: 'ghost' }, 'Sign out');
  signOut.addEventListener('click', () => {
    forgetToken();
    signIn(null);
  });

  replace(
    root,
    h(
      'header',
      { class: 'topbar' },
      h('span', { class: 'brand' }, 'robostream'),
      sigPill,
      h('span', { class: 'spacer' }),
      who,
      signOut,
    ),
    banner,
    h('div', { class: 'layout' }, h('aside', { class: 'sidebar' }, h('h3', {}, 'Robots'), list.el), main),
  );
  replace(main, h('div', { class: 'placeholder muted' }, 'Choose a robot on the left.'));
  warmUpRendering(document.body);

  function select(robotId: string): void {
    if (view?.robotId === robotId) return;
    view?.dispose();
    view = new RobotView(client, dir, robotId, info.token, preparer);
    list.selected = robotId;
    list.render();
    replace(main, view.el);
    history.replaceState(
      null,
      '',
      `${location.pathname}${location.search}#robot=${encodeURIComponent(robotId)}`,
    );
  }

  const renderHeader = () => {
    setText(sigPill, `Signaling: ${SIGNALING_TEXT[client.state]}`);
    sigPill.dataset['state'] = client.state;
    sigPill.className = `pill ${client.state === 'ready' ? 'ok' : client.state === 'closed' ? 'bad' : 'warn'}`;
    const left = info.expiresAt === null ? null : info.expiresAt - Date.now();
    setText(
      who,
      `${info.sub}${left === null ? '' : ` · token ${left > 0 ? `expires in ${formatDuration(left)}` : 'expired'}`}`,
    );
    const warnings: string[] = [];
    if (client.state === 'reconnecting')
      warnings.push(
        'Connection to signaling lost — reconnecting. Live video and the gateway link keep running.',
      );
    if (left !== null && left < EXPIRY_WARNING_MS && left > 0)
      warnings.push(
        `Your token expires at ${formatTime(info.expiresAt!)} (in ${formatDuration(left)}). Get a fresh one before then.`,
      );
    banner.hidden = warnings.length === 0;
    banner.className = `banner ${client.state === 'reconnecting' ? 'warn' : 'warn'}`;
    setText(banner, warnings.join('  '));
  };

  const refused = (code: string) => {
    if (code === 'token_expired' || code === 'token_invalid' || code === 'wrong_role') {
      forgetToken();
      signIn(REFUSALS[code] ?? code);
      return true;
    }
    return false;
  };
  const offs = [
    client.on('state', renderHeader),
    client.on('presence', (p) => dir.update(p)),
    client.on('error', (e) => void refused(e.code)),
    client.on('fatal', (f) => {
      if (!refused(f.reason)) signIn(`Signaling closed the connection: ${f.reason || f.code}.`);
    }),
    // After a reconnect the presence subscription is renewed by the client; refresh the full list too.
    client.on(
      'welcome',
      () =>
        void client.subscribePresence().then(
          (robots) => dir.reset(robots),
          () => undefined,
        ),
    ),
  ];
  const tick = setInterval(() => {
    renderHeader();
    if (info.expiresAt !== null && info.expiresAt <= Date.now()) {
      forgetToken();
      signIn(REFUSALS['token_expired']!);
    }
  }, 1000);
  session = {
    client,
    stop: () => {
      clearInterval(tick);
      for (const off of offs) off();
      view?.dispose();
      preparer.dispose();
      client.close();
    },
  };
  renderHeader();
  document.title = `robostream — ${info.sub}`;
  // A closed or navigated-away tab ends its sessions at once (the robot frees the seat), instead of leaving the
  // robot to notice a dead path. pagehide also fires when the page goes into the back-forward cache.
  window.addEventListener('pagehide', () => session?.stop(), { once: true });

  const wanted = new URLSearchParams(location.hash.replace(/^#/, '')).get('robot');
  client.connect().then(
    () => {
      if (wanted) select(wanted);
    },
    (err: unknown) => {
      // A refused token is handled by the error/fatal listeners; anything else is shown here.
      if (session?.client === client && root.querySelector('[data-testid=sign-in]') === null) {
        setText(
          banner,
          `Cannot reach signaling at ${signalingUrl()}: ${err instanceof Error ? err.message : String(err)}`,
        );
        banner.hidden = false;
        banner.className = 'banner bad';
      }
    },
  );
}

const token = takeTokenFromLocation();
if (token) start(token);
else signIn(null);
