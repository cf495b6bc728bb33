/**
 * The demo server against pages from elsewhere: it answers only requests addressed to this machine by name
 * (a DNS-rebinding page sends its own host name), and a failed request gets the error's message, never a
 * stack trace. (The page itself, in a browser: test/browser/demo.test.ts.)
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { request } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoServer, type DemoServer } from '../../src/cli/demo.js';
import { REQUIRED_FILES } from '../../src/data/open.js';

const root = mkdtempSync(join(tmpdir(), 'byol-demo-server-'));
let server: DemoServer;
let port = 0;

beforeAll(async () => {
  // A data folder whose Fashion-MNIST files are all there but garbage: listing the datasets fails.
  const dir = join(root, 'fashion-mnist');
  mkdirSync(dir, { recursive: true });
  for (const name of REQUIRED_FILES['fashion-mnist']) writeFileSync(join(dir, name), 'not an IDX file');
  server = await startDemoServer({ port: 0, dataDir: root });
  port = Number(new URL(server.url).port);
}, 120_000);

afterAll(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

/** GET `path` from the server with the given Host header. */
function get(path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

it('answers only requests for 127.0.0.1 or localhost at its port', async () => {
  for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`, `127.0.0.1:${port + 1}`]) {
    const r = await get('/api/datasets', host);
    expect(r.status, host).toBe(421);
    expect(r.body).toBe(`this server answers requests for 127.0.0.1:${port} or localhost:${port} only, not for "${host}"`);
    expect(r.body).not.toContain(root);
  }
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
    const r = await get('/sample/synthetic?count=2&part=labels', host);
    expect(r.status, host).toBe(200);
    expect(r.body.length).toBe(10);
  }
});

it('a failed request gets its message, not a stack trace', async () => {
  const r = await get('/api/datasets', `127.0.0.1:${port}`);
  expect(r.status).toBe(500);
  expect(r.body).toMatch(/^error: .*fashion-mnist.*: /);
  expect(r.body).not.toMatch(/^\s+at /m);
  expect(r.body.split('\n')).toHaveLength(1);
});
