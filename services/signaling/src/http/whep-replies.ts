import type { ErrorCode } from '@robostream/protocol';
import type { RoutedMessage } from '../routing/routed-message.js';

export type WhepErrorCode = ErrorCode | 'timeout' | 'rejected' | 'bad_content_type';

/** A refusal that becomes an HTTP status and a JSON body `{code, message}`. */
export class WhepError extends Error {
  constructor(
    readonly code: WhepErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * What the robot sends one WHEP viewer, awaited one step at a time. Messages that arrive before anyone waits are
 * kept, so a fast robot cannot answer into the void; the robot ending or rejecting the session fails the wait.
 */
export class RobotReplies {
  private readonly queue: RoutedMessage[] = [];
  private waiter: ((m: RoutedMessage) => boolean) | undefined;
  private done = false;

  constructor(private readonly timeoutMs: number) {}

  push(m: RoutedMessage): void {
    if (this.waiter?.(m)) this.waiter = undefined;
    else if (!this.waiter && !this.done) this.queue.push(m);
  }

  /** The request is answered (or failed): nothing more is awaited, so nothing more is kept. */
  finish(): void {
    this.done = true;
    this.queue.length = 0;
  }

  /** The next message `want` accepts; skips others; rejects on timeout, rejection or the session's end. */
  next(want: (m: RoutedMessage) => boolean): Promise<RoutedMessage> {
    return new Promise<RoutedMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new WhepError('timeout', 'the robot did not answer in time'));
      }, this.timeoutMs);
      const settle = (m: RoutedMessage): boolean => {
        if (m.kind === 'session_rejected')
          reject(new WhepError('rejected', `the robot rejected the session: ${m.reason}`));
        // The robot ending it says why (an offer it cannot answer names the problem); the service ending it means
        // the robot is gone.
        else if (m.kind === 'session_closed' && m.by === 'peer')
          reject(new WhepError('rejected', `the robot ended the session: ${m.reason}`));
        else if (m.kind === 'session_closed' || m.kind === 'undeliverable')
          reject(new WhepError('robot_offline', 'the robot is gone'));
        else if (want(m)) resolve(m);
        else return false;
        clearTimeout(timer);
        return true;
      };
      while (this.queue.length > 0) if (settle(this.queue.shift()!)) return;
      this.waiter = settle;
    });
  }
}
