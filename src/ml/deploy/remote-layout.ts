// The device-side layout and the POSIX sh scripts that change it. Layout under remote_dir:
//
//   versions/<version>/          one complete, checksum-verified upload per deploy
//   versions/.incoming-<v>/      an upload in progress (never pointed at; removed when stale)
//   current -> versions/<v>      the live version, switched by rename(2) of a new symlink
//   history.log                  "<UTC time> deploy|rollback <version>" per switch
//   .deploy.lock                 flock'ed by the running deploy/rollback (device-lock.ts)
//
// A version folder only gets its final name after `sha256sum -c` passes, and `current` only
// ever names final folders, so an interrupted upload can never become live.

/** $1 root. Removes stale incoming folders, prints `current=<version>` (empty if none). */
export const PREPARE = `set -eu
root=$1
mkdir -p "$root/versions"
cd "$root/versions"
for d in .incoming-*; do
  if [ -e "$d" ]; then rm -rf -- "$d"; echo "removed-stale=$d"; fi
done
cur=$(readlink "$root/current" 2>/dev/null || true)
echo "current=\${cur##*/}"
`;

/** $1 root, $2 version. Verifies the upload's checksums (exit 3 on mismatch), then names it final. */
export const PROMOTE = `set -eu
root=$1; v=$2
cd "$root/versions/.incoming-$v"
if ! sha256sum --check --quiet --strict SHA256SUMS >&2; then
  echo "checksum mismatch in $root/versions/.incoming-$v" >&2
  exit 3
fi
sync
cd ..
mv -- ".incoming-$v" "$v"
`;

/** $1 root, $2 version, $3 node, $4 modules, $5 warmup, $6 runs. Prints the smoke test's JSON. */
export const SMOKE = `set -eu
cd "$1/versions/$2"
exec "$3" device/onnx-smoke.mjs --modules "$4" --warmup "$5" --runs "$6"
`;

/** $1 root, $2 version, $3 action word for history.log. Atomically points current at the version. */
export const SWITCH = `set -eu
root=$1; v=$2
cd "$root"
[ -f "versions/$v/SHA256SUMS" ] || { echo "no complete version $v in $root/versions" >&2; exit 3; }
ln -sfn "versions/$v" .current.tmp
mv -T .current.tmp current
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $3 $v" >> history.log
sync
`;

/** $1 root. Prints `current <v>` then `version <v>` per complete version. */
export const LIST = `set -eu
root=$1
[ -d "$root/versions" ] || exit 0
cd "$root"
cur=$(readlink current 2>/dev/null || true)
echo "current \${cur##*/}"
for d in versions/*/; do
  if [ -f "\${d}SHA256SUMS" ]; then echo "version $(basename "$d")"; fi
done
`;

/** $1 root, then version names to delete. */
export const REMOVE = `set -eu
cd "$1/versions"
shift
for v in "$@"; do rm -rf -- "$v"; done
`;

/** $1 root, $2 command. Runs the configured service restart from the deploy root. */
export const RESTART = `set -eu
cd "$1"
sh -c "$2"
`;

/** $1 node, $2 url, $3 timeout s. Polls the URL with the device's Node until it answers 2xx. */
export const HEALTH = `set -eu
exec "$1" -e '
const [url, timeoutS] = process.argv.slice(1);
const until = Date.now() + Number(timeoutS) * 1000;
let last = "no answer";
(async () => {
  while (Date.now() < until) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
      if (res.ok) { console.log("healthy " + res.status); return; }
      last = "HTTP " + res.status;
    } catch (err) { last = err.cause?.code ?? err.message; }
    await new Promise((r) => setTimeout(r, 500));
  }
  console.error("health check " + url + ": " + last);
  process.exit(1);
})();
' "$2" "$3"
`;

export interface RemoteState {
  current: string | undefined;
  /** Complete versions, oldest first (names sort by deploy time). */
  versions: string[];
}

export function parseList(stdout: string): RemoteState {
  let current: string | undefined;
  const versions: string[] = [];
  for (const line of stdout.split('\n')) {
    const [word, value] = line.trim().split(/\s+/, 2);
    if (word === 'current' && value) current = value;
    if (word === 'version' && value) versions.push(value);
  }
  return { current, versions: versions.sort() };
}

/** Versions to delete so that `keep` remain: the oldest, never `current` nor `protect`. */
export function versionsToPrune(state: RemoteState, keep: number, protect: string[] = []): string[] {
  const spared = new Set([state.current, ...protect].filter((v): v is string => v !== undefined));
  const excess = state.versions.length - keep;
  if (excess <= 0) return [];
  return state.versions.filter((v) => !spared.has(v)).slice(0, excess);
}

/** The version a rollback goes to: the newest complete one older than current. */
export function rollbackTarget(state: RemoteState): string | undefined {
  if (state.current === undefined) return undefined;
  return state.versions.filter((v) => v < state.current!).at(-1);
}
