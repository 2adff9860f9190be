/** Where the bar is drawn: stderr, or a test's fake. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Progress {
  tick(): void;
  done(): void;
}

/** A run visiting more sessions than this shows a bar (on a terminal only). */
export const PROGRESS_THRESHOLD = 2000;

const NO_PROGRESS: Progress = { tick() {}, done() {} };

/**
 * A one-line progress bar redrawn in place (`\r`) on stderr, for runs over a few thousand
 * sessions; nothing at all when stderr is not a terminal (cron mail, pipes, CI logs).
 */
export function createProgress(stream: ProgressStream, total: number, label: string): Progress {
  if (!stream.isTTY || total <= PROGRESS_THRESHOLD) return NO_PROGRESS;
  let count = 0;
  let drawnPercent = -1;
  const draw = () => {
    const percent = Math.floor((count / total) * 100);
    if (percent === drawnPercent) return;
    drawnPercent = percent;
    const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - label.length - 30));
    const filled = Math.round((count / total) * width);
    stream.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${count}/${total} ${percent}%`);
  };
  draw();
  return {
    tick() {
      // The total was counted by an earlier walk: sessions created since must not overflow the bar.
      if (count < total) count += 1;
      draw();
    },
    done() {
      // Clear the line, so the summary that follows starts clean.
      stream.write('\r\u001b[K');
    },
  };
}
