// Prints deploy progress: a `\r` bar on a TTY, otherwise a counted line every few seconds.
import type { DeployLog } from './deployer.ts';

export function consoleDeployLog(prefix = 'deploy', stream: NodeJS.WriteStream = process.stdout, everyMs = 3000): DeployLog {
  let lastLine = 0;
  let lastPercent = -1;
  let barOpen = false;
  const endBar = () => {
    if (barOpen) stream.write('\n');
    barOpen = false;
  };
  return {
    info(line) {
      endBar();
      stream.write(`${prefix}: ${line}\n`);
    },
    progress(percent) {
      if (percent === lastPercent) return;
      lastPercent = percent;
      if (stream.isTTY) {
        const filled = Math.round(percent / 5);
        stream.write(`\r${prefix}: upload [${'#'.repeat(filled)}${'.'.repeat(20 - filled)}] ${percent}%`);
        barOpen = true;
      } else if (Date.now() - lastLine >= everyMs || percent === 100) {
        lastLine = Date.now();
        stream.write(`${prefix}: upload ${percent}%\n`);
      }
    },
  };
}
