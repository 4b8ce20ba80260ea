# Shared by the provisioning scripts (sourced, not run): logging, timing and the host's Debian mirror.

log() { printf '[provision %s] %s\n' "${PROVISION_STEP:-?}" "$*" >&2; }
die() {
  log "FAILED: $*"
  exit 1
}

# Whole seconds since the epoch with a fraction, for step timings.
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Prints the first enabled "deb" URI that serves SUITE in the host's apt sources (one-line .list files and
# deb822 .sources files), so images and debootstrap use the same mirror as the host. Empty when none.
apt_source_uri() {
  local suite=$1 f uri
  local files=()
  [[ -f /etc/apt/sources.list ]] && files+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do [[ -f $f ]] && files+=("$f"); done
  for f in "${files[@]}"; do
    if [[ $f == *.sources ]]; then
      uri=$(awk -v want="$suite" '
        function flush(   n, i, s, u) {
          if (types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) != "no") {
            n = split(suites, s, /[ \t]+/)
            for (i = 1; i <= n; i++) if (s[i] == want) { split(uris, u, /[ \t]+/); print u[1]; found = 1; exit }
          }
          types = ""; suites = ""; uris = ""; enabled = ""
        }
        /^[ \t]*$/ { flush(); next }
        /^[ \t]*#/ { next }
        { key = tolower($1); val = $0; sub(/^[^:]*:[ \t]*/, "", val) }
        key == "types:" { types = val }
        key == "suites:" { suites = val }
        key == "uris:" { uris = val }
        key == "enabled:" { enabled = val }
        END { if (!found) flush() }' "$f")
    else
      uri=$(awk -v want="$suite" '
        $1 != "deb" { next }
        { i = 2; if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ } }
        $(i + 1) == want { print $i; exit }' "$f")
    fi
    if [[ -n $uri ]]; then
      printf '%s\n' "${uri%/}"
      return 0
    fi
  done
}

debian_mirror() { local u; u=$(apt_source_uri bookworm); printf '%s\n' "${u:-http://deb.debian.org/debian}"; }
debian_security_mirror() {
  local u
  u=$(apt_source_uri bookworm-security)
  printf '%s\n' "${u:-http://deb.debian.org/debian-security}"
}
