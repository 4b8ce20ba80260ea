/**
 * The robot's recordings API (docs/recording.md) from the console: the robot's HTTP port, the console's own app
 * token as a Bearer header. Refusals come back as RecordingsApiError with the robot's typed code.
 */
export interface RecordingEntry {
  name: string;
  kind: 'blackbox' | 'rec';
  bytes: number;
  startedAt: number;
  modifiedAt: number;
  active: boolean;
}

export interface RecorderStatus {
  blackbox: { on: boolean; seconds: number };
  recording: { by: string; since: number; files: string[] } | null;
  gateway: { url: string | null; connected: boolean };
  lastError: string | null;
}

export class RecordingsApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'RecordingsApiError';
  }
}

export class RecordingsApi {
  constructor(
    readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async list(): Promise<{ recordings: RecordingEntry[]; status: RecorderStatus }> {
    return (await this.call('GET', '/v1/recordings')).json() as Promise<{
      recordings: RecordingEntry[];
      status: RecorderStatus;
    }>;
  }

  async start(): Promise<void> {
    await this.call('POST', '/v1/recordings/start');
  }

  async stop(): Promise<string[]> {
    return ((await (await this.call('POST', '/v1/recordings/stop')).json()) as { files: string[] }).files;
  }

  /** The file as a Blob (fetched with the token: a plain link could not carry the header). */
  async download(name: string): Promise<Blob> {
    return (await this.call('GET', `/v1/recordings/${encodeURIComponent(name)}`)).blob();
  }

  private async call(method: 'GET' | 'POST', path: string): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: { authorization: `Bearer ${this.token}` },
      });
    } catch (err) {
      throw new RecordingsApiError(
        'unreachable',
        `cannot reach ${this.baseUrl} (${(err as Error).message})`,
        0,
      );
    }
    if (res.ok) return res;
    let body: { error?: string; message?: string } = {};
    try {
      body = (await res.json()) as typeof body;
    } catch {
      // not JSON: the status says enough
    }
    throw new RecordingsApiError(
      body.error ?? `http_${res.status}`,
      body.message ?? res.statusText,
      res.status,
    );
  }
}
