// Preloaded (node --import) by scripts/cli.mjs into the command it runs: process.stderr writes to the file
// descriptor named by BYOL_STDERR_FD (the launcher's own stderr, a terminal stays a terminal), so that only
// native writes to fd 2 go through the launcher's filter.
import { writeSync } from 'node:fs';
import { Writable } from 'node:stream';
import { isatty, WriteStream } from 'node:tty';

const fd = Number(process.env.BYOL_STDERR_FD);
delete process.env.BYOL_STDERR_FD;

/** Writes all of `bytes`, waiting out a full non-blocking pipe (EAGAIN) instead of losing output. */
function writeAll(bytes) {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(fd, bytes, done, bytes.length - done);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

if (Number.isInteger(fd) && fd > 2) {
  let stream;
  if (isatty(fd)) {
    stream = new WriteStream(fd);
  } else {
    // Synchronous, as Node's own stderr is for files and pipes: nothing is lost at process.exit().
    stream = new Writable({
      write(chunk, encoding, callback) {
        try {
          writeAll(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk);
          callback();
        } catch (e) {
          callback(e);
        }
      },
    });
    stream.fd = fd;
  }
  Object.defineProperty(process, 'stderr', { configurable: true, enumerable: true, get: () => stream });
}
