// Silences Mesa's warning about a missing runtime directory in every test worker.
import { tmpdir } from 'node:os';

process.env.XDG_RUNTIME_DIR ??= tmpdir();

// Every dispatch of every test: the launcher's parameter block against its shader's uniform struct.
import { installUniformLayoutCheck } from './uniform-layout.js';

installUniformLayoutCheck();
