/**
 * The robot side of a signaled WebRTC session, written once for every robot endpoint (the streamer's `media`,
 * the gateway's `gateway`). The app offers, the robot answers; this host does the signaling work that is the same
 * whatever a session carries, so that an ICE fix is made in one place:
 *   - admission (closing, too many sessions, the service's own checks) and accept/reject;
 *   - each session's offers and remote candidates handled one after the other (answering is async);
 *   - local candidates held while an answer is being made, so they never precede it;
 *   - the `signaled` flag: sessions belong to one signaling connection, and once it is gone (or the service says
 *     the app's connection is) nothing more can be signaled for them, while their peer connection lives on;
 *   - asking the app for an ICE restart after 2 s 'disconnected' (or at once on 'failed'), since only the
 *     offerer can restart; and, optionally, ending a session whose path stays dead.
 * What a session is (a media viewer, a data-channel link) sits behind RobotSession (robot-session.ts). The host
 * knows no WebRTC engine, which is why it can live in the protocol package next to the SignalingClient it drives.
 * About 420 lines on purpose: admission, ordering, candidate holding and restarts act on one session entry and its
 * timers; which seat a request may take over is apart (robot-seats.ts).
 */
import type { Grant } from '../auth/grants.js';
import type { IceServer, RobotMeta } from '../messages/common.js';
import type {
  EndpointLog,
  MaybeCandidate,
  PeerState,
  RobotSession,
  SessionEnd,
  SessionFactory,
} from './robot-session.js';
import type { SignalingClient } from './signaling-client.js';
import { consoleOf, seatToTakeOver } from './robot-seats.js';

export interface RobotEndpointHostOptions<S extends RobotSession> {
  /** The endpoint name registered on every attached connection ('media', 'gateway'). */
  endpoint: string;
  /** Presence meta registered with the endpoint. */
  meta: () => RobotMeta;
  createSession: SessionFactory<S>;
  /** Sessions past this many (over every connection) are rejected with `tooManyReason`. */
  maxSessions: number;
  tooManyReason: string;
  /** Told to the apps whose sessions close() ends, and to requests that arrive after it. */
  shutdownReason: string;
  /**
   * When the service says the app's signaling is gone (session_closed by 'service'): true keeps an answered
   * session running unsignaled (media needs no signaling); false ends it.
   */
  outlivesAppSignaling: boolean;
  log: EndpointLog;
  /** 'disconnected' this long asks the app for an ICE restart (default 2 s). */
  restartAfterDisconnectedMs?: number;
  /** Disconnected/failed this long after the last restart request ends the session (default: never). */
  deadAfterMs?: number;
  /**
   * Narrows the connection's ICE servers for a new session (leaves out those known not to answer: werift waits
   * 5 s for each during gathering). Synchronous: a session request must not wait for it.
   */
  iceServers?: (servers: IceServer[]) => IceServer[];
  onIceRestartRequested?: () => void;
  onAccepted?: () => void;
  onRejected?: (reason: string) => void;
}

/** What list() tells about each session. */
export interface HostedSession<S extends RobotSession> {
  id: string;
  label: string;
  signaled: boolean;
  iceRestartsRequested: number;
  session: S;
}

type Timer = ReturnType<typeof setTimeout>;

interface Entry<S extends RobotSession> {
  key: string;
  id: string;
  label: string;
  /** The app token's subject, and the console instance it named in the request's meta, if any. */
  app: string;
  console: string | null;
  client: SignalingClient;
  session: S;
  log: EndpointLog;
  signaled: boolean;
  /** The first answer is out. */
  answered: boolean;
  /** Serializes offers (first, ICE restarts) and remote candidates. */
  work: Promise<void>;
  /** Local candidates waiting for the answer; null when they go out at once. */
  heldLocal: MaybeCandidate[] | null;
  /** Remote candidates that came before the first offer. */
  heldRemote: MaybeCandidate[];
  restartTimer: Timer | null;
  deadTimer: Timer | null;
  iceRestartsRequested: number;
  closed: boolean;
}

/** How long an app that closed its end has for its own session_close to arrive before the robot sends one. */
const APP_CLOSE_GRACE_MS = 1_500;

/** Every endpoint this host serves answers an offer that comes with its session request. */
const REGISTRATION = { offerInRequest: true };

export class RobotEndpointHost<S extends RobotSession> {
  private readonly sessions = new Map<string, Entry<S>>();
  /** Sessions the app closed its end of, by key, not yet told closed by signaling (see closeEntry). */
  private readonly untold = new Map<string, Timer>();
  private readonly clients = new Map<SignalingClient, { id: number; detach: () => void }>();
  private readonly restartAfterMs: number;
  private closed = false;

  constructor(private readonly o: RobotEndpointHostOptions<S>) {
    this.restartAfterMs = o.restartAfterDisconnectedMs ?? 2_000;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  list(): HostedSession<S>[] {
    return [...this.sessions.values()].map((e) => ({
      id: e.id,
      label: e.label,
      signaled: e.signaled,
      iceRestartsRequested: e.iceRestartsRequested,
      session: e.session,
    }));
  }

  /**
   * Serves the endpoint's sessions from one signaling connection and registers the endpoint on it: now if
   * connected, else (and after every reconnect) the client registers it by itself.
   */
  async attach(client: SignalingClient, label: string): Promise<void> {
    if (this.clients.has(client)) return;
    const log = this.o.log.child({ signaling: label });
    const offs = [
      client.on('session_request', (m) =>
        this.onRequest(client, label, m.sessionId, m.endpoint, m.app.subject, m.app.grants, m.meta, m.offer),
      ),
      client.on('offer', (m) => this.onOffer(client, m.sessionId, m.sdp)),
      client.on('candidate', (m) => this.onRemoteCandidate(client, m.sessionId, m.candidate)),
      client.on('end_of_candidates', (m) => this.onRemoteCandidate(client, m.sessionId, null)),
      client.on('ice_restart', (m) =>
        // The app offers: a restart it announces arrives as its next offer.
        log.debug({ session: m.sessionId, reason: m.reason }, 'ice_restart from the app (its offer follows)'),
      ),
      client.on('session_closed', (m) => {
        const key = this.key(client, m.sessionId);
        const untold = this.untold.get(key);
        if (untold) {
          clearTimeout(untold);
          this.untold.delete(key);
        }
        const e = this.sessions.get(key);
        if (!e) return;
        e.signaled = false;
        const dead = e.session.connectionState === 'disconnected' || e.session.connectionState === 'failed';
        if (m.by === 'service' && this.o.outlivesAppSignaling && e.answered && !dead) {
          // The app's signaling connection dropped (or the service is draining): the session may still flow.
          e.log.info({ reason: m.reason }, 'session signaling ended; the session lives on');
          return;
        }
        void this.closeEntry(e, { reason: `session closed: ${m.reason}`, cause: 'app' }, false);
      }),
      client.on('state', (state) => {
        if (state !== 'reconnecting' && state !== 'closed') return;
        // Sessions are bound to the connection that is gone; their peer connections live on.
        for (const e of this.sessions.values()) {
          if (e.client !== client || !e.signaled) continue;
          e.signaled = false;
          if (!e.answered)
            void this.closeEntry(
              e,
              { reason: 'signaling lost before the answer', cause: 'signaling' },
              false,
            );
        }
      }),
    ];
    this.clients.set(client, { id: this.clients.size + 1, detach: () => offs.forEach((off) => off()) });
    await client.register(this.o.endpoint, this.o.meta(), REGISTRATION).catch((err: Error) => {
      log.debug({ err: err.message }, 'endpoint registration deferred to the next connection');
    });
  }

  /** Registers the current meta again on every connection (sent now when connected, else at the next one). */
  async updateMeta(): Promise<void> {
    const meta = this.o.meta();
    await Promise.all(
      [...this.clients.keys()].map((c) =>
        c.register(this.o.endpoint, meta, REGISTRATION).catch((err: Error) => {
          this.o.log.debug({ err: err.message }, 'presence meta update deferred');
        }),
      ),
    );
  }

  /** Ends every session (telling the apps while signaling is up); the clients are closed by their owner. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.untold.values()) clearTimeout(t);
    this.untold.clear();
    for (const c of this.clients.values()) c.detach();
    this.clients.clear();
    await Promise.all(
      [...this.sessions.values()].map((e) =>
        this.closeEntry(e, { reason: this.o.shutdownReason, cause: 'shutdown' }, true),
      ),
    );
  }

  private key(client: SignalingClient, sessionId: string): string {
    return `${this.clients.get(client)?.id ?? 0}/${sessionId}`;
  }

  private onRequest(
    client: SignalingClient,
    label: string,
    sessionId: string,
    endpoint: string,
    app: string,
    grants: readonly Grant[],
    meta: RobotMeta | undefined,
    offer: string | undefined,
  ): void {
    // Another endpoint on the same connection has its own host.
    if (endpoint !== this.o.endpoint) return;
    const log = this.o.log.child({ signaling: label, session: sessionId, app });
    // When the request arrived, to line a session's steps up with the service's and the app's clocks.
    log.debug({ offer: offer !== undefined }, 'session request');
    const reject = (reason: string): void => {
      log.warn({ reason, sessions: this.sessions.size }, 'session rejected');
      this.o.onRejected?.(reason);
      client.rejectSession(sessionId, reason);
    };
    if (this.closed) return reject(this.o.shutdownReason);
    // Signaling refuses such requests already; a robot does not rely on that alone.
    if (!grants.includes('view')) return reject('this token does not grant view on this robot');
    if (this.sessions.size >= this.o.maxSessions) {
      // A reloaded console, or a player that left without a word, still holds a seat until its dead path is
      // noticed. A new session of the same app subject takes over that seat instead of being refused: the one
      // of the same console if the request names one, else one whose app signaling is already gone.
      const own = seatToTakeOver([...this.sessions.values()], app, consoleOf(meta));
      if (!own) return reject(this.o.tooManyReason);
      own.log.info({ by: sessionId }, 'seat taken over by a newer session of the same app');
      void this.closeEntry(
        own,
        { reason: 'replaced by a newer session of the same app', cause: 'app' },
        true,
      );
    }

    // The session's callbacks may fire before the factory returns; they find the entry through this box.
    let entry: Entry<S> | null = null;
    const early: MaybeCandidate[] = [];
    const made = this.o.createSession({
      sessionId,
      app,
      grants,
      meta,
      label,
      iceServers: this.o.iceServers?.(client.iceServers) ?? client.iceServers,
      log,
      localCandidate: (c) => {
        if (entry) this.onLocalCandidate(entry, c);
        else early.push(c);
      },
      connectionState: (state) => {
        if (entry) this.onPeerState(entry, state);
      },
      ended: (reason, byApp) => {
        if (entry)
          void this.closeEntry(
            entry,
            { reason, cause: byApp ? 'app' : 'failed' },
            byApp ? 'unless-told' : true,
          );
      },
    });
    if ('reject' in made) return reject(made.reject);
    const e: Entry<S> = {
      key: this.key(client, sessionId),
      id: sessionId,
      label,
      app,
      console: consoleOf(meta),
      client,
      session: made,
      log,
      signaled: true,
      answered: false,
      work: Promise.resolve(),
      heldLocal: early,
      heldRemote: [],
      restartTimer: null,
      deadTimer: null,
      iceRestartsRequested: 0,
      closed: false,
    };
    entry = e;
    this.sessions.set(e.key, e);
    this.o.onAccepted?.();
    client.acceptSession(sessionId).then(
      () => log.info({ sessions: this.sessions.size }, 'session accepted'),
      (err: Error) => {
        log.warn({ err: err.message }, 'accepting the session failed');
        e.signaled = false;
        void this.closeEntry(e, { reason: 'accept failed', cause: 'signaling' }, false);
      },
    );
    // The app's opening offer came with the request: answered now, not after the service confirms the acceptance.
    // The answer leaves after the accept on the same socket, which the service reads in order.
    if (offer !== undefined) this.enqueue(e, () => this.answerOffer(e, offer));
  }

  private onOffer(client: SignalingClient, sessionId: string, sdp: string): void {
    const e = this.sessions.get(this.key(client, sessionId));
    if (!e || e.closed) {
      this.o.log.warn({ session: sessionId }, 'offer for an unknown session');
      return;
    }
    this.enqueue(e, () => this.answerOffer(e, sdp));
  }

  /** One session's signaling work, in arrival order; a failure is logged and does not stall what follows. */
  private enqueue(e: Entry<S>, job: () => Promise<void> | void): void {
    e.work = e.work.then(job).catch((err: Error) => {
      e.log.warn({ err: err.message }, 'session signaling work failed');
    });
  }

  private async answerOffer(e: Entry<S>, sdp: string): Promise<void> {
    if (e.closed) return;
    const restart = e.answered;
    // Candidates gathered while answering (werift gathers inside setLocalDescription) wait for the answer.
    e.heldLocal ??= [];
    let answer: string;
    try {
      answer = await e.session.answer(sdp, restart);
    } catch (err) {
      const message = (err as Error).message;
      e.log.warn({ err: message, restart }, restart ? 'ICE restart failed' : 'cannot answer the offer');
      const reason = restart ? 'ICE restart failed' : `cannot answer: ${message}`.slice(0, 256);
      await this.closeEntry(e, { reason, cause: 'failed' }, true);
      return;
    }
    if (e.closed) return;
    if (restart) {
      e.log.info({}, 'ICE restart answered');
      this.clearTimers(e);
    }
    e.answered = true;
    for (const c of e.heldRemote.splice(0)) await this.addRemote(e, c);
    if (e.signaled) e.client.sendAnswer(e.id, answer);
    const held = e.heldLocal;
    e.heldLocal = null;
    for (const c of held) this.sendLocal(e, c);
  }

  private onLocalCandidate(e: Entry<S>, c: MaybeCandidate): void {
    if (e.heldLocal) e.heldLocal.push(c);
    else this.sendLocal(e, c);
  }

  private sendLocal(e: Entry<S>, c: MaybeCandidate): void {
    if (!e.signaled || e.closed) return;
    e.log.debug({ candidate: c?.candidate ?? null }, 'local candidate');
    if (c) e.client.sendCandidate(e.id, e.session.outgoingCandidate?.(c) ?? c);
    else e.client.sendEndOfCandidates(e.id);
  }

  private onRemoteCandidate(client: SignalingClient, sessionId: string, c: MaybeCandidate): void {
    const e = this.sessions.get(this.key(client, sessionId));
    if (!e) return;
    // Chromium ends its candidates with an empty one; end_of_candidates says the same.
    if (c && !c.candidate) return;
    this.enqueue(e, async () => {
      if (e.closed) return;
      if (!e.answered) e.heldRemote.push(c);
      else await this.addRemote(e, c);
    });
  }

  private async addRemote(e: Entry<S>, c: MaybeCandidate): Promise<void> {
    await e.session.addRemoteCandidate(c).catch((err: Error) => {
      e.log.debug({ err: err.message }, 'remote candidate refused');
    });
  }

  private onPeerState(e: Entry<S>, state: PeerState): void {
    if (e.closed) return;
    if (state === 'connected' || state === 'connecting' || state === 'new') {
      this.clearTimers(e);
      return;
    }
    if (state === 'closed') return; // the session reports its end through ended()
    if (state === 'disconnected' && !e.restartTimer) {
      e.restartTimer = unref(
        setTimeout(() => {
          e.restartTimer = null;
          if (e.session.connectionState === 'disconnected') this.requestRestart(e, 'disconnected');
        }, this.restartAfterMs),
      );
    } else if (state === 'failed') {
      this.requestRestart(e, 'failed');
    }
    const deadAfterMs = this.o.deadAfterMs;
    if (deadAfterMs === undefined) return;
    // With nobody left to restart it (signaling gone, the app gone), a dead path ends the session; at once when
    // the app's signaling is already gone, since no restart can come (a closed tab must not hold a seat).
    if (!e.signaled) {
      void this.closeEntry(
        e,
        { reason: `peer connection ${state}; the app's signaling is gone`, cause: 'failed' },
        false,
      );
      return;
    }
    e.deadTimer ??= unref(
      setTimeout(() => {
        e.deadTimer = null;
        const now = e.session.connectionState;
        if (now === 'disconnected' || now === 'failed')
          void this.closeEntry(e, { reason: `peer connection ${now}`, cause: 'failed' }, true);
      }, deadAfterMs),
    );
  }

  private requestRestart(e: Entry<S>, reason: string): void {
    if (!e.signaled || e.closed || !e.session.restartable) return;
    e.iceRestartsRequested++;
    this.o.onIceRestartRequested?.();
    e.log.info({ reason }, 'asking the app for an ICE restart');
    e.client.requestIceRestart(e.id, reason);
  }

  private clearTimers(e: Entry<S>): void {
    if (e.restartTimer) clearTimeout(e.restartTimer);
    if (e.deadTimer) clearTimeout(e.deadTimer);
    e.restartTimer = null;
    e.deadTimer = null;
  }

  /**
   * `tellApp` 'unless-told': the app closed its end and its own session_close is most likely on its way; it is told
   * only if signaling has not said the session closed within APP_CLOSE_GRACE_MS (telling it anyway would cross
   * that message and earn an unknown_session error).
   */
  private async closeEntry(e: Entry<S>, end: SessionEnd, tellApp: boolean | 'unless-told'): Promise<void> {
    if (e.closed) return;
    e.closed = true;
    this.clearTimers(e);
    this.sessions.delete(e.key);
    const reason = end.reason.slice(0, 256);
    if (tellApp === 'unless-told' && e.signaled) {
      const timer = unref(
        setTimeout(() => {
          this.untold.delete(e.key);
          e.client.closeSession(e.id, reason);
        }, APP_CLOSE_GRACE_MS),
      );
      this.untold.set(e.key, timer);
    } else if (tellApp && e.signaled) e.client.closeSession(e.id, reason);
    e.signaled = false;
    e.log.info({ reason: end.reason, sessions: this.sessions.size }, 'session closed');
    await e.session.close(end);
  }
}

/** Timers must not keep a robot process alive; browsers' timers have no unref. */
function unref(timer: Timer): Timer {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}
