// Whether someone is speaking near the robot, from the voice processor's decisions (webrtcdsp posts one on each
// change). Listeners get every change; the snapshot is what stats and telemetry publish.

export interface VoiceActivitySnapshot {
  /** The voice processor runs on the microphone. */
  enabled: boolean;
  /** The echo canceller runs (the console need not mute the robot while its operator talks). */
  echoCancel: boolean;
  speaking: boolean;
  /** Decisions received so far (each is a change). */
  changes: number;
  /** Milliseconds since the last change, null before the first. */
  sinceMs: number | null;
}

export class VoiceActivity {
  private speaking = false;
  private changes = 0;
  private changedAt: number | null = null;
  private readonly listeners = new Set<(speaking: boolean) => void>();

  constructor(
    readonly enabled: boolean,
    readonly echoCancel: boolean,
  ) {}

  update(speaking: boolean, now = performance.now()): void {
    this.changes++;
    this.changedAt = now;
    if (speaking === this.speaking) return;
    this.speaking = speaking;
    for (const l of this.listeners) l(speaking);
  }

  /** The microphone stopped: nobody is heard any more. */
  reset(): void {
    if (this.speaking) this.update(false);
  }

  onChange(listener: (speaking: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(now = performance.now()): VoiceActivitySnapshot {
    return {
      enabled: this.enabled,
      echoCancel: this.echoCancel,
      speaking: this.speaking,
      changes: this.changes,
      sinceMs: this.changedAt === null ? null : Math.round(now - this.changedAt),
    };
  }
}
