// Silences Mesa's warning about a missing runtime directory in every test worker.
import { tmpdir } from 'node:os';

process.env.XDG_RUNTIME_DIR ??= tmpdir();
