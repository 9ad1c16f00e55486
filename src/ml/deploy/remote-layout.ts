// The device-side layout and the POSIX sh scripts that change it. Layout under remote_dir
// (docs/device.md shows it with how to inspect and recover by hand):
//
//   candidates/<v>/              an upload being checked: checksums, smoke test, latency gate
//   versions/<v>/                a candidate that passed all three and was switched to
//   current -> versions/<v>      the live version, switched by rename(2) of a new symlink
//   history.log                  "<UTC time> deploy|rollback|rejected <version>" per event
//   .deploy.lock                 flock'ed by the running deploy/rollback (device-lock.ts)
//
// A candidate only moves into versions/ at the moment `current` is switched to it, so a
// killed or failed check can never leave something that looks like a version. history.log
// is the record of what went live: rollback and pruning only count versions it lists as
// deployed or rolled back to and not later rejected (a failed health check), whatever else
// lies in versions/ (folders left by older brickflow releases included).

/**
 * $1 root. Removes candidates left by an interrupted deploy (the caller holds the device
 * lock, so none is in progress) and prints `removed-stale=<name>` for each, then
 * `current=<version>` (empty if none).
 */
export const PREPARE = `set -eu
root=$1
mkdir -p "$root/versions" "$root/candidates"
for d in "$root"/candidates/* "$root"/candidates/.[!.]* "$root"/versions/.incoming-*; do
  if [ -e "$d" ]; then rm -rf -- "$d"; echo "removed-stale=\${d#"$root"/}"; fi
done
cur=$(readlink "$root/current" 2>/dev/null || true)
echo "current=\${cur##*/}"
`;

/** $1 root, $2 version. Checks the uploaded candidate's checksums (exit 3 on mismatch). */
export const VERIFY = `set -eu
cd "$1/candidates/$2"
if ! sha256sum --check --quiet --strict SHA256SUMS >&2; then
  echo "checksum mismatch in $1/candidates/$2" >&2
  exit 3
fi
sync
`;

/**
 * $1 root, $2 version, $3 node, $4 modules, $5 warmup, $6 runs, $7 threads. Runs the smoke
 * test in the candidate's folder and prints its JSON. Run it with a pty (runRemoteScript's
 * `tty`): when the connection drops, sshd hangs the pty up and the kernel's SIGHUP ends the
 * test, instead of it running on for minutes on the device.
 */
export const SMOKE = `set -eu
cd "$1/candidates/$2"
exec "$3" device/onnx-smoke.mjs --modules "$4" --warmup "$5" --runs "$6" --threads "$7"
`;

/**
 * $1 root, $2 version. Makes the checked candidate a version and points current at it
 * (atomically), then records the deploy in history.log.
 */
export const PROMOTE = `set -eu
root=$1; v=$2
cd "$root"
[ -f "candidates/$v/SHA256SUMS" ] || { echo "no checked candidate $v in $root/candidates" >&2; exit 3; }
rm -rf -- "versions/$v"
mv -- "candidates/$v" "versions/$v"
ln -sfn "versions/$v" .current.tmp
mv -T .current.tmp current
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) deploy $v" >> history.log
sync
`;

/** $1 root, $2 version (a live one). Points current back at it and records the rollback. */
export const SWITCH = `set -eu
root=$1; v=$2
cd "$root"
[ -f "versions/$v/SHA256SUMS" ] || { echo "no complete version $v in $root/versions" >&2; exit 3; }
ln -sfn "versions/$v" .current.tmp
mv -T .current.tmp current
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) rollback $v" >> history.log
sync
`;

/**
 * $1 root, $2 version, $3 "logged" to record the rejection in history.log (a version that
 * went live and then failed its health check). Deletes the candidate or version folder.
 */
export const REJECT = `set -eu
root=$1; v=$2
rm -rf -- "$root/candidates/$v" "$root/versions/$v"
if [ "\${3:-}" = logged ]; then echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) rejected $v" >> "$root/history.log"; fi
sync
`;

/** $1 root. Prints `current <v>`, `version <v>` per complete version folder, then history.log as `history <line>`. */
export const LIST = `set -eu
root=$1
[ -d "$root/versions" ] || exit 0
cd "$root"
cur=$(readlink current 2>/dev/null || true)
echo "current \${cur##*/}"
for d in versions/*/; do
  if [ -f "\${d}SHA256SUMS" ]; then echo "version $(basename "$d")"; fi
done
if [ -f history.log ]; then sed 's/^/history /' history.log; fi
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
  /** Complete version folders, oldest first (names sort by deploy time). */
  versions: string[];
  /** Versions history.log says went live (deployed or rolled back to) and were not rejected since. */
  wentLive: Set<string>;
}

export function parseList(stdout: string): RemoteState {
  let current: string | undefined;
  const versions: string[] = [];
  const wentLive = new Set<string>();
  for (const line of stdout.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] === 'current' && words[1]) current = words[1];
    if (words[0] === 'version' && words[1]) versions.push(words[1]);
    // history <time> <action> <version>
    if (words[0] === 'history' && words[3]) {
      if (words[2] === 'deploy' || words[2] === 'rollback') wentLive.add(words[3]);
      if (words[2] === 'rejected') wentLive.delete(words[3]);
    }
  }
  return { current, versions: versions.sort(), wentLive };
}

/** Complete versions that went live: the only ones rollback may switch to. */
export function liveVersions(state: RemoteState): string[] {
  return state.versions.filter((v) => state.wentLive.has(v));
}

/**
 * Folders to delete so that `keep` versions that went live remain: first every folder that
 * never went live, then the oldest live ones; never `current` nor `protect`.
 */
export function versionsToPrune(state: RemoteState, keep: number, protect: string[] = []): string[] {
  const spared = new Set([state.current, ...protect].filter((v): v is string => v !== undefined));
  const neverLive = state.versions.filter((v) => !state.wentLive.has(v) && !spared.has(v));
  const live = liveVersions(state);
  const excess = Math.max(0, live.length - keep);
  return [...neverLive, ...live.filter((v) => !spared.has(v)).slice(0, excess)];
}

/** The version a rollback goes to: the newest one older than current that went live. */
export function rollbackTarget(state: RemoteState): string | undefined {
  if (state.current === undefined) return undefined;
  return liveVersions(state).filter((v) => v < state.current!).at(-1);
}
