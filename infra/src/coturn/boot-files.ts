/**
 * What an EC2 TURN server runs at boot: the cloud-init user data (installs coturn, writes the secret-free base
 * config and the config script, hooks the script into coturn.service) and the config script itself, which runs
 * before every coturn start, fetches the shared secret(s) from Secrets Manager with the instance role and writes
 * the final /etc/turnserver.conf (root:turnserver 0640). Nothing secret is in either text. Pure functions.
 */

export interface TurnConfigScriptOptions {
  region: string;
  /** Secrets Manager secret (ARN or name) whose SecretString is the TURN REST shared secret. */
  authSecretId: string;
  /** Optional Secrets Manager secret whose SecretString is JSON {"certificate": PEM chain, "privateKey": PEM}. */
  tls?: { secretId: string; certFile: string; keyFile: string };
}

export const TURN_PATHS = {
  baseConf: '/etc/robostream/turnserver.base.conf',
  conf: '/etc/turnserver.conf', // where Debian/Ubuntu's coturn.service reads it (-c /etc/turnserver.conf)
  configScript: '/usr/local/sbin/robostream-turn-config',
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
    'set -euo pipefail',
    'export LC_ALL=C',
    'export PATH="$PATH:/snap/bin"',
    'umask 077',
    `REGION=${shellQuote(o.region)}`,
    `AUTH_SECRET_ID=${shellQuote(o.authSecretId)}`,
    `BASE="\${ROBOSTREAM_TURN_BASE_CONF:-${TURN_PATHS.baseConf}}"`,
    `OUT="\${ROBOSTREAM_TURN_CONF:-${TURN_PATHS.conf}}"`,
    'GROUP="${ROBOSTREAM_TURN_GROUP:-turnserver}"',
    '',
    'fetch() {',
    '  aws secretsmanager get-secret-value --region "$REGION" --secret-id "$1" --version-stage "$2" \\',
    '    --query SecretString --output text',
    '}',
    'valid() { [[ "$1" =~ ^[!-~]+$ ]]; }',
    'publish() { chgrp "$GROUP" "$1"; chmod 0640 "$1"; mv -f "$1" "$2"; }',
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
      'publish "$CERT.new" "$CERT"',
      'publish "$KEY.new" "$KEY"',
    );
  }
  lines.push(
    '',
    'tmp="$(mktemp "$OUT.XXXXXX")"',
    '{',
    '  cat "$BASE"',
    '  printf \'static-auth-secret=%s\\n\' "$current"',
    '  if [ -n "$previous" ] && [ "$previous" != "$current" ]; then printf \'static-auth-secret=%s\\n\' "$previous"; fi',
    '} >"$tmp"',
    'publish "$tmp" "$OUT"',
    'echo "robostream-turn-config: wrote $OUT"',
  );
  return `${lines.join('\n')}\n`;
}

export interface TurnUserDataOptions {
  /** The secret-free base config from renderTurnServerConf(..., authSecret: appended-at-start). */
  baseConf: string;
  configScript: string;
}

const HEREDOC_END = 'ROBOSTREAM_END_OF_FILE';

function writeFile(path: string, text: string): string[] {
  if (text.split('\n').includes(HEREDOC_END))
    throw new Error(`file text for ${path} contains ${HEREDOC_END}`);
  // Quoted delimiter: the shell expands nothing inside.
  return [`cat >${path} <<'${HEREDOC_END}'`, text.replace(/\n$/, ''), HEREDOC_END];
}

/** Cloud-init user data for Ubuntu 24.04: installs coturn and wires robostream-turn-config into its unit. */
export function renderTurnUserData(o: TurnUserDataOptions): string {
  if (/static-auth-secret\s*=/.test(o.baseConf)) throw new Error('the base config must not carry a secret');
  return [
    '#!/bin/bash',
    '# robostream TURN server bootstrap (infra/src/coturn/boot-files.ts). Holds no secret: the shared secret is read',
    '# from Secrets Manager by robostream-turn-config before every coturn start.',
    'set -euo pipefail',
    'export DEBIAN_FRONTEND=noninteractive',
    '',
    '# Keep the package from starting coturn with its stock config before ours is in place.',
    "printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d",
    'chmod 0755 /usr/sbin/policy-rc.d',
    'apt-get update',
    'apt-get install -y --no-install-recommends coturn python3',
    'rm -f /usr/sbin/policy-rc.d',
    'command -v aws >/dev/null || [ -x /snap/bin/aws ] || snap install aws-cli --classic',
    '',
    'install -d -m 0750 -o root -g turnserver /etc/robostream /etc/robostream/tls',
    ...writeFile(TURN_PATHS.baseConf, o.baseConf),
    `chgrp turnserver ${TURN_PATHS.baseConf} && chmod 0640 ${TURN_PATHS.baseConf}`,
    ...writeFile(TURN_PATHS.configScript, o.configScript),
    `chmod 0755 ${TURN_PATHS.configScript}`,
    '',
    'install -d /etc/systemd/system/coturn.service.d',
    ...writeFile(
      '/etc/systemd/system/coturn.service.d/robostream.conf',
      [
        '[Service]',
        `ExecStartPre=+${TURN_PATHS.configScript}`,
        '# The script waits for the secret to have a value; coturn starts once it does.',
        'TimeoutStartSec=infinity',
        'Restart=always',
        'RestartSec=5',
        'LimitNOFILE=65536',
        '',
      ].join('\n'),
    ),
    'systemctl daemon-reload',
    'systemctl enable coturn',
    'systemctl restart --no-block coturn',
    '',
  ].join('\n');
}
