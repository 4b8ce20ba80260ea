/**
 * What an EC2 TURN server runs at boot: the cloud-init user data (installs Docker Engine from Docker's repository and
 * a pinned upstream coturn image, writes the secret-free base config, the config script, the systemd units for
 * coturn, the TLS refresh and the STUN probe) and the config script itself, which runs before every coturn start,
 * fetches the shared secret(s) and the TLS certificate from Secrets Manager with the instance role and writes the
 * final config. Nothing secret is in either text. Pure functions.
 *
 * Why not Ubuntu's coturn package: it lives in `universe`, which gets no security updates without Ubuntu Pro.
 */
export interface TurnConfigScriptOptions {
  region: string;
  /** The coturn container, signalled (SIGUSR2) when a refreshed TLS certificate was written. */
  containerName?: string;
  /** Secrets Manager secret (ARN or name) whose SecretString is the TURN REST shared secret. */
  authSecretId: string;
  /** Optional Secrets Manager secret whose SecretString is JSON {"certificate": PEM chain, "privateKey": PEM}. */
  tls?: { secretId: string; certFile: string; keyFile: string };
}

export const TURN_PATHS = {
  baseConf: '/etc/robostream/turnserver.base.conf',
  conf: '/etc/robostream/turnserver.conf', // mounted read-only into the container at /etc/coturn/turnserver.conf
  configScript: '/usr/local/sbin/robostream-turn-config',
  probeScript: '/usr/local/sbin/robostream-turn-probe',
  tlsCert: '/etc/robostream/tls/fullchain.pem',
  tlsKey: '/etc/robostream/tls/privkey.pem',
} as const;

/** Single-quotes a value for bash. */
export function shellQuote(v: string): string {
  return `'${v.replaceAll("'", `'\\''`)}'`;
}

/**
 * The config script. Paths can be overridden with ROBOSTREAM_TURN_* environment variables so the loopback
 * test runs this very script (with a stub `aws`) instead of a copy of its logic.
 *
 * Rotation: both AWSCURRENT and, when present, AWSPREVIOUS are written as static-auth-secret lines (coturn
 * accepts a credential made with any of them), so credentials handed out before a rotation keep working.
 */
export function renderTurnConfigScript(o: TurnConfigScriptOptions): string {
  const lines = [
    '#!/bin/bash',
    '# robostream-turn-config (rendered by infra/src/coturn/boot-files.ts): writes coturn config from the base file',
    '# plus the shared secret(s) in AWS Secrets Manager. Runs as root before every coturn start.',
    '# `robostream-turn-config --tls-only` (the refresh timer) fetches the certificate alone and, when it changed,',
    '# sends coturn SIGUSR2: coturn loads the new certificate for new TLS connections and keeps every relay.',
    'set -euo pipefail',
    'export LC_ALL=C',
    'export PATH="$PATH:/snap/bin"',
    'umask 077',
    `REGION=${shellQuote(o.region)}`,
    `AUTH_SECRET_ID=${shellQuote(o.authSecretId)}`,
    `BASE="\${ROBOSTREAM_TURN_BASE_CONF:-${TURN_PATHS.baseConf}}"`,
    `OUT="\${ROBOSTREAM_TURN_CONF:-${TURN_PATHS.conf}}"`,
    '# coturn reads its config as root and then drops to nobody (proc-user), so only the certificate files, which',
    '# it reads again on SIGUSR2, belong to nogroup (65534, the same id inside the container).',
    'GROUP="${ROBOSTREAM_TURN_GROUP:-root}"',
    'TLS_GROUP="${ROBOSTREAM_TURN_TLS_GROUP:-65534}"',
    `CONTAINER=${shellQuote(o.containerName ?? COTURN_CONTAINER)}`,
    'MODE="${1:-all}"',
    '',
    'fetch() {',
    '  aws secretsmanager get-secret-value --region "$REGION" --secret-id "$1" --version-stage "$2" \\',
    '    --query SecretString --output text',
    '}',
    'valid() { [[ "$1" =~ ^[!-~]+$ ]]; }',
    'publish() { chgrp "$3" "$1"; chmod 0640 "$1"; mv -f "$1" "$2"; }',
  ];
  if (o.tls) {
    lines.push(
      '',
      `TLS_SECRET_ID=${shellQuote(o.tls.secretId)}`,
      `CERT="\${ROBOSTREAM_TURN_TLS_CERT:-${o.tls.certFile}}"`,
      `KEY="\${ROBOSTREAM_TURN_TLS_KEY:-${o.tls.keyFile}}"`,
      'tls_json="$(fetch "$TLS_SECRET_ID" AWSCURRENT)"',
      "printf '%s' \"$tls_json\" | python3 -c 'import json, sys",
      'd = json.load(sys.stdin)',
      'open(sys.argv[1], "w").write(d["certificate"])',
      'open(sys.argv[2], "w").write(d["privateKey"])\' "$CERT.new" "$KEY.new"',
      'tls_changed=0',
      'if ! cmp -s "$CERT.new" "$CERT" || ! cmp -s "$KEY.new" "$KEY"; then tls_changed=1; fi',
      'publish "$CERT.new" "$CERT" "$TLS_GROUP"',
      'publish "$KEY.new" "$KEY" "$TLS_GROUP"',
      'if [ "$MODE" = --tls-only ]; then',
      '  if [ "$tls_changed" = 1 ] && docker kill --signal=SIGUSR2 "$CONTAINER" >/dev/null; then',
      '    echo "robostream-turn-config: new TLS certificate; coturn reloads it (SIGUSR2), relays stay up"',
      '  fi',
      '  exit 0',
      'fi',
    );
  } else {
    lines.push('', '[ "$MODE" = --tls-only ] && exit 0');
  }
  lines.push(
    '',
    '# The secret may not have a value yet right after `pulumi up`: wait for it (logs say so) rather than fail.',
    'attempt=0',
    'until current="$(fetch "$AUTH_SECRET_ID" AWSCURRENT 2>/dev/null)" && [ -n "$current" ]; do',
    '  attempt=$((attempt + 1))',
    '  echo "robostream-turn-config: no value readable in $AUTH_SECRET_ID yet (attempt $attempt); retrying in 10 s" >&2',
    '  sleep 10',
    'done',
    'if ! valid "$current"; then',
    '  echo "robostream-turn-config: the TURN secret must be printable ASCII without spaces" >&2',
    '  exit 1',
    'fi',
    'previous="$(fetch "$AUTH_SECRET_ID" AWSPREVIOUS 2>/dev/null || true)"',
    'if [ -n "$previous" ] && ! valid "$previous"; then previous=""; fi',
  );
  lines.push(
    '',
    'tmp="$(mktemp "$OUT.XXXXXX")"',
    '{',
    '  cat "$BASE"',
    '  printf \'static-auth-secret=%s\\n\' "$current"',
    '  if [ -n "$previous" ] && [ "$previous" != "$current" ]; then printf \'static-auth-secret=%s\\n\' "$previous"; fi',
    '} >"$tmp"',
    'publish "$tmp" "$OUT" "$GROUP"',
    'echo "robostream-turn-config: wrote $OUT"',
  );
  return `${lines.join('\n')}\n`;
}

/** The coturn container's name on the instance (systemd unit, docker kill --signal, docker exec). */
export const COTURN_CONTAINER = 'robostream-coturn';

/**
 * The coturn image the TURN servers run: upstream's, pinned to one release build (x.y.z-rN). Change it on purpose
 * (a new release, a security fix): robostream:turn.coturnImage, optionally with @sha256:<digest>.
 */
export const DEFAULT_COTURN_IMAGE = 'coturn/coturn:4.7.0-r4';

/** Docker's release signing key (docs.docker.com, "Install Docker Engine on Ubuntu"): the apt source trusts it only. */
export const DOCKER_APT_KEY_FINGERPRINT = '9DC858229FC7DD38854AE2D88D81803C0EBFCD88';

/** CloudWatch namespace and metric of the STUN probe every TURN server reports each minute. */
export const TURN_PROBE_METRIC = { namespace: 'Robostream/TURN', name: 'StunProbeOk' } as const;

export interface TurnUserDataOptions {
  /** The secret-free base config from renderTurnServerConf(..., authSecret: appended-at-start). */
  baseConf: string;
  configScript: string;
  /** Pinned coturn image (DEFAULT_COTURN_IMAGE unless configured). */
  coturnImage: string;
  /** The plain listener port the STUN probe asks. */
  listeningPort: number;
  /** With TLS: a timer re-reads the certificate and reloads coturn (SIGUSR2) when it changed. */
  tls: boolean;
  region: string;
  /** The TurnServer dimension of the probe metric (the alarm watches it): stable across instance replacement. */
  serverName: string;
}

const HEREDOC_END = 'ROBOSTREAM_END_OF_FILE';

function writeFile(path: string, text: string): string[] {
  if (text.split('\n').includes(HEREDOC_END))
    throw new Error(`file text for ${path} contains ${HEREDOC_END}`);
  // Quoted delimiter: the shell expands nothing inside.
  return [`cat >${path} <<'${HEREDOC_END}'`, text.replace(/\n$/, ''), HEREDOC_END];
}

/** A STUN Binding request to coturn's plain listener; exit 0 on a Binding success response. */
function probeScript(o: TurnUserDataOptions): string {
  return [
    '#!/bin/bash',
    '# robostream-turn-probe: asks coturn for a STUN Binding on its listener and reports 1 (answered) or 0 to',
    '# CloudWatch. The alarm on this metric treats a missing value as failing: a server whose boot never got this',
    '# far, or that stopped reporting, alarms as well as one whose coturn does not answer.',
    'set -uo pipefail',
    'export PATH="$PATH:/snap/bin"',
    "ok=$(python3 - <<'PY'",
    'import os, socket',
    's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
    's.settimeout(2)',
    'tid = os.urandom(12)',
    'ok = 0',
    'for _ in range(3):',
    '    try:',
    `        s.sendto(b"\\x00\\x01\\x00\\x00\\x21\\x12\\xa4\\x42" + tid, ("127.0.0.1", ${o.listeningPort}))`,
    '        data = s.recv(2048)',
    '        ok = int(data[:2] == b"\\x01\\x01" and data[8:20] == tid)',
    '        break',
    '    except OSError:',
    '        pass',
    'print(ok)',
    'PY',
    ')',
    `aws cloudwatch put-metric-data --region ${shellQuote(o.region)} --namespace ${TURN_PROBE_METRIC.namespace} \\`,
    `  --metric-name ${TURN_PROBE_METRIC.name} --dimensions TurnServer=${shellQuote(o.serverName)} --value "$ok"`,
    '[ "$ok" = 1 ]',
    '',
  ].join('\n');
}

function unit(lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

/**
 * Cloud-init user data for Ubuntu 24.04. Every download retries: the instance boots with its Elastic IP already on
 * its network interface, but mirrors and DNS can still be slow to answer, and under `set -e` one failed
 * `apt-get` would leave a server without coturn. A boot that fails anyway is visible: the STUN probe metric never
 * arrives and its alarm fires.
 */
export function renderTurnUserData(o: TurnUserDataOptions): string {
  if (/static-auth-secret\s*=/.test(o.baseConf)) throw new Error('the base config must not carry a secret');
  if (!/^[a-z0-9][a-z0-9._/-]*:\d+\.\d+\.\d+(-r\d+)?(@sha256:[0-9a-f]{64})?$/.test(o.coturnImage))
    throw new Error(
      `coturnImage must be pinned to a release (name:x.y.z[-rN][@sha256:...]), got ${o.coturnImage}`,
    );
  const docker = [
    '/usr/bin/docker run --rm --name',
    COTURN_CONTAINER,
    // Host networking: no proxy in front of 16k relay ports, and coturn sees the real client addresses.
    '--network host',
    // Root only to bind 443; coturn drops to nobody (proc-user) right after, keeping these capabilities only.
    '--user 0:0 --cap-drop ALL --cap-add NET_BIND_SERVICE --cap-add SETUID --cap-add SETGID',
    '--read-only --tmpfs /var/lib/coturn --tmpfs /run --ulimit nofile=65536:65536 --log-driver journald',
    `-v ${TURN_PATHS.conf}:/etc/coturn/turnserver.conf:ro`,
    ...(o.tls ? ['-v /etc/robostream/tls:/etc/robostream/tls:ro'] : []),
    o.coturnImage,
    '-c /etc/coturn/turnserver.conf --proc-user=nobody --proc-group=nogroup',
  ].join(' ');
  const coturnUnit = unit([
    '[Unit]',
    `Description=coturn (${o.coturnImage}) for robostream`,
    'After=docker.service network-online.target',
    'Requires=docker.service',
    'Wants=network-online.target',
    '',
    '[Service]',
    '# The config script waits for the TURN secret to have a value; coturn starts once it does.',
    `ExecStartPre=${TURN_PATHS.configScript}`,
    `ExecStartPre=-/usr/bin/docker rm -f ${COTURN_CONTAINER}`,
    `ExecStart=${docker}`,
    `ExecStop=/usr/bin/docker stop --time 10 ${COTURN_CONTAINER}`,
    'TimeoutStartSec=infinity',
    'Restart=always',
    'RestartSec=5',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ]);
  const timer = (what: string, schedule: string[]) =>
    unit([
      '[Unit]',
      `Description=${what}`,
      '',
      '[Timer]',
      ...schedule,
      '',
      '[Install]',
      'WantedBy=timers.target',
    ]);
  const oneshot = (what: string, exec: string) =>
    unit(['[Unit]', `Description=${what}`, '', '[Service]', 'Type=oneshot', `ExecStart=${exec}`]);
  const sd = '/etc/systemd/system';
  return [
    '#!/bin/bash',
    '# robostream TURN server bootstrap (infra/src/coturn/boot-files.ts). Holds no secret: the shared secret is read',
    '# from Secrets Manager by robostream-turn-config before every coturn start.',
    'set -euo pipefail',
    'export DEBIAN_FRONTEND=noninteractive',
    '',
    '# retry CMD...: up to 30 tries 10 s apart (5 minutes), then fail the boot loudly.',
    'retry() {',
    '  local n=0',
    '  until "$@"; do',
    '    n=$((n + 1))',
    '    if [ "$n" -ge 30 ]; then echo "robostream-turn-boot: giving up after $n tries: $*" >&2; return 1; fi',
    '    echo "robostream-turn-boot: retry $n in 10 s: $*" >&2',
    '    sleep 10',
    '  done',
    '}',
    'APT=(apt-get -o Acquire::Retries=5 -o DPkg::Lock::Timeout=600)',
    '',
    "# Docker Engine from Docker's repository (security updates; Ubuntu's docker.io and coturn are in universe).",
    'retry "${APT[@]}" update',
    'retry "${APT[@]}" install -y --no-install-recommends ca-certificates curl gnupg python3',
    'install -m 0755 -d /etc/apt/keyrings',
    'retry curl -fsSL --retry 5 https://download.docker.com/linux/ubuntu/gpg -o /etc/apt/keyrings/docker.asc',
    'fpr=$(gpg --show-keys --with-colons /etc/apt/keyrings/docker.asc | awk -F: \'$1 == "fpr" { print $10; exit }\')',
    `if [ "$fpr" != ${DOCKER_APT_KEY_FINGERPRINT} ]; then`,
    '  echo "robostream-turn-boot: Docker\'s apt key has fingerprint $fpr, not the one expected" >&2',
    '  exit 1',
    'fi',
    'echo "deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/ubuntu $(. /etc/os-release && echo "$VERSION_CODENAME") stable" >/etc/apt/sources.list.d/docker.list',
    'retry "${APT[@]}" update',
    'retry "${APT[@]}" install -y --no-install-recommends docker-ce docker-ce-cli containerd.io',
    'systemctl enable --now docker',
    'command -v aws >/dev/null || [ -x /snap/bin/aws ] || retry snap install aws-cli --classic',
    `retry docker pull ${o.coturnImage}`,
    '',
    'install -d -m 0750 -o root -g root /etc/robostream',
    'install -d -m 0750 -o root -g 65534 /etc/robostream/tls',
    ...writeFile(TURN_PATHS.baseConf, o.baseConf),
    `chmod 0640 ${TURN_PATHS.baseConf}`,
    ...writeFile(TURN_PATHS.configScript, o.configScript),
    `chmod 0755 ${TURN_PATHS.configScript}`,
    ...writeFile(TURN_PATHS.probeScript, probeScript(o)),
    `chmod 0755 ${TURN_PATHS.probeScript}`,
    '',
    ...writeFile(`${sd}/robostream-coturn.service`, coturnUnit),
    ...writeFile(
      `${sd}/robostream-turn-probe.service`,
      oneshot('STUN probe of coturn, reported to CloudWatch', TURN_PATHS.probeScript),
    ),
    ...writeFile(
      `${sd}/robostream-turn-probe.timer`,
      timer('STUN probe of coturn every minute', ['OnActiveSec=0', 'OnUnitActiveSec=60', 'AccuracySec=5']),
    ),
    ...(o.tls
      ? [
          ...writeFile(
            `${sd}/robostream-turn-tls-refresh.service`,
            oneshot(
              'Re-read the TURN TLS certificate; coturn reloads a changed one (SIGUSR2) without dropping relays',
              `${TURN_PATHS.configScript} --tls-only`,
            ),
          ),
          ...writeFile(
            `${sd}/robostream-turn-tls-refresh.timer`,
            timer('Re-read the TURN TLS certificate twice a day', [
              'OnActiveSec=1h',
              'OnUnitActiveSec=12h',
              'RandomizedDelaySec=30m',
            ]),
          ),
        ]
      : []),
    'systemctl daemon-reload',
    'systemctl enable --now robostream-turn-probe.timer',
    ...(o.tls ? ['systemctl enable --now robostream-turn-tls-refresh.timer'] : []),
    'systemctl enable robostream-coturn.service',
    'systemctl start --no-block robostream-coturn.service',
    'echo "robostream-turn-boot: coturn installed; it starts once the TURN secret has a value"',
    '',
  ].join('\n');
}
