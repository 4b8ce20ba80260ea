// Runs IN CHROMIUM (bundled by esbuild, see ../lab-browser.ts): an operator on the robot's gateway through the
// gateway tests' own browser app (data channels, the project's SignalingClient). It takes the control lock and
// sends a command on the reliable lane every 50 ms (which also keeps the deadman fed); the robot's `echo` service
// answers each one and streams telemetry on the lossy lane. Every reply and telemetry frame is timed.
import { BrowserGatewayApp } from '../../../../services/gateway/test/support/browser-gateway-app.js';

export interface GatewayRecord {
  /** Per command: when it was sent and when its reply came (epoch ms; null: no reply yet). */
  commands: { sentMs: number; replyMs: number | null }[];
  /** Replies that came before a reply to an earlier command (the reliable lane is ordered: should stay 0). */
  outOfOrder: number;
  telemetryMs: number[];
}

const epoch = (): number => performance.timeOrigin + performance.now();

class GatewayLab {
  private record: GatewayRecord = { commands: [], outOfOrder: 0, telemetryMs: [] };
  private timer: ReturnType<typeof setInterval> | undefined;
  private app: BrowserGatewayApp | null = null;

  async start(signalingUrl: string, token: string, robotId: string, intervalMs: number): Promise<void> {
    const app = await BrowserGatewayApp.open({ signalingUrl, token, robotId });
    this.app = app;
    app.send({ v: 1, type: 'auth', token });
    await app.next('welcome');
    app.send({ v: 1, type: 'lock.take' });
    await app.next('lock.state');
    let lastReply = -1;
    const r = this.record;
    for (const ch of [app.reliable, app.lossy])
      ch.onmessage = (ev: MessageEvent) => {
        for (const f of [JSON.parse(String(ev.data)) as { type: string; ref?: string }].flat()) {
          if (f.type === 'telemetry') r.telemetryMs.push(epoch());
          else if (f.type === 'reply' && f.ref?.startsWith('c')) {
            const n = Number(f.ref.slice(1));
            const c = r.commands[n];
            if (c && c.replyMs === null) c.replyMs = epoch();
            if (n < lastReply) r.outOfOrder++;
            lastReply = Math.max(lastReply, n);
          }
        }
      };
    this.timer = setInterval(() => {
      const n = r.commands.length;
      r.commands.push({ sentMs: epoch(), replyMs: null });
      app.send({ v: 1, type: 'command', id: `c${n}`, service: 'echo', payload: n });
    }, intervalMs);
  }

  collect(): GatewayRecord {
    return this.record;
  }

  close(): void {
    clearInterval(this.timer);
    this.app?.close();
  }
}

(globalThis as unknown as { gatewayLab: GatewayLab }).gatewayLab = new GatewayLab();
