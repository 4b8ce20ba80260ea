// Containers for tests: real Redis from the redis:7-bookworm image (a stand-in built by
// scripts/provision/base-images.sh on machines without a registry), started with testcontainers.
import { RedisContainer, type StartedRedisContainer } from '@testcontainers/redis';
import { getContainerRuntimeClient, ImageName, type StartedTestContainer } from 'testcontainers';

export const REDIS_IMAGE = 'redis:7-bookworm';

// No registry is reachable: Ryuk (a pulled image) must stay off and mapped ports are reached on localhost.
// .ci/run and scripts/run-tests.mjs set these; the defaults keep `node --test` on a single file working.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= 'localhost';

export interface StopOptions {
  /** SIGKILL at once, as a crash would, instead of SIGTERM with a grace period. */
  kill?: boolean;
}

export interface RedisHandle {
  /** redis://host:port of the mapped port. */
  url: string;
  /**
   * redis://<container address>:6379 on Docker's bridge, without docker-proxy (the userland process that carries a
   * mapped port on localhost): what a deployment's signaling has to its Redis, one TCP hop. For benches.
   */
  directUrl: string;
  host: string;
  port: number;
  container: StartedRedisContainer;
  /** Stops and removes the container; safe to call again, also after kill(). */
  stop(): Promise<void>;
  /** Kills the container mid-test (SIGKILL) and removes it; safe to call again. */
  kill(): Promise<void>;
}

const stopped = new WeakMap<StartedTestContainer, Promise<void>>();

/**
 * Stops and removes a started container once: later calls (a test that killed Redis mid-test, then its
 * cleanup) wait for the first stop instead of failing on a container that is gone.
 */
export function stopContainer(container: StartedTestContainer, options: StopOptions = {}): Promise<void> {
  let done = stopped.get(container);
  if (!done) {
    done = container
      .stop({ timeout: options.kill ? 0 : 5_000, remove: true, removeVolumes: true })
      .then(() => {});
    stopped.set(container, done);
  }
  return done;
}

/** Starts Redis and waits until it accepts connections. Fails when Docker or the image is missing. */
export async function startRedis(): Promise<RedisHandle> {
  await assertImagePresent(REDIS_IMAGE);
  const container = await new RedisContainer(REDIS_IMAGE).start();
  const host = container.getHost();
  const port = container.getPort();
  return {
    url: `redis://${host}:${port}`,
    directUrl: `redis://${container.getIpAddress('bridge')}:6379`,
    host,
    port,
    container,
    stop: () => stopContainer(container),
    kill: () => stopContainer(container, { kill: true }),
  };
}

// testcontainers would try to pull a missing image, which fails here with a registry error that hides the fix.
async function assertImagePresent(image: string): Promise<void> {
  const client = await getContainerRuntimeClient();
  if (!(await client.image.exists(ImageName.fromString(image)))) {
    throw new Error(
      `Docker image ${image} is not on this machine: run \`bash scripts/provision/all.sh\` first`,
    );
  }
}
