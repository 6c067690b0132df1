import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './process.js';
import { findOnPath } from './redis.js';

/** nginx on PATH, or Debian's /usr/sbin/nginx when /usr/sbin is not on PATH. */
export const nginxPath =
  findOnPath('nginx') ?? (existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : undefined);

/** Why an nginx suite is skipped, or undefined (on CI a missing nginx fails instead). */
export function nginxSkipReason(): string | undefined {
  if (nginxPath || process.env.CI) return undefined;
  return 'skipped: nginx is not installed';
}

export interface LoadBalancer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  close(): Promise<void>;
}

/**
 * A real nginx (`nginx -p DIR -c DIR/nginx.conf`, `daemon off`) balancing HTTP and WebSocket
 * (HTTP/1.1 with the Upgrade and Connection headers passed on) round-robin over `ports` on
 * 127.0.0.1. A request that cannot reach an instance (refused, reset before it was sent) goes to
 * the next one, as nginx does by default for `error`; a POST already sent is not repeated.
 * Resolves once nginx accepts connections.
 */
export async function startNginx(ports: readonly number[]): Promise<LoadBalancer> {
  if (!nginxPath) throw new Error('nginx is not installed (apt-get install nginx); CI is set.');
  const dir = mkdtempSync(path.join(tmpdir(), 'nginx-test-'));
  chmodSync(dir, 0o777); // workers run as an unprivileged user when the master is root
  for (const temp of ['body', 'proxy']) mkdirSync(path.join(dir, temp), { mode: 0o777 });
  const port = await freePort();
  writeFileSync(
    path.join(dir, 'nginx.conf'),
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/proxy;
  uwsgi_temp_path ${dir}/proxy;
  scgi_temp_path ${dir}/proxy;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  upstream service {
${ports.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=30s;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://service;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_next_upstream error timeout;
      proxy_read_timeout 300s;
    }
  }
}
`,
  );
  const child: ChildProcess = spawn(nginxPath, ['-p', dir, '-c', path.join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let attempt = 0; !(await accepts(port)); attempt++) {
    if (child.exitCode !== null || attempt > 200) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not start: ${stderr}`);
    }
    await sleep(25);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
