// Stand-ins for adb and ssh on PATH: they run the real dump script with sh against a local tree.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Stand-in adb/ssh: run the command (adb) or stdin (ssh) with sh, /sys replaced by $FAKE_SYS. */
export function installFakeRemotes(binDir: string): void {
  fs.mkdirSync(binDir, { recursive: true });
  fs.writeFileSync(
    path.join(binDir, 'adb'),
    `#!/bin/bash
[ "$1" = -s ] && shift 2
[ "$1" = shell ] || { echo "adb: unknown command $1" >&2; exit 1; }
shift
[ -n "$FAKE_REMOTE_FAIL" ] && { echo "error: device '$FAKE_REMOTE_FAIL' not found" >&2; exit 1; }
[ -n "$FAKE_REMOTE_HANG" ] && exec sleep 60
exec sh -c "$(printf '%s' "$*" | sed "s#^R=/sys#R=$FAKE_SYS#")"
`,
    { mode: 0o755 },
  );
  fs.writeFileSync(
    path.join(binDir, 'ssh'),
    `#!/bin/bash
[ -n "$FAKE_REMOTE_FAIL" ] && { echo "ssh: connect to host $FAKE_REMOTE_FAIL port 22: Connection refused" >&2; exit 255; }
[ -n "$FAKE_REMOTE_HANG" ] && exec sleep 60
sed "s#^R=/sys#R=$FAKE_SYS#" | sh -s
`,
    { mode: 0o755 },
  );
}
