import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./perl/cgisession.pl', import.meta.url));

/**
 * Whether the real Perl CGI::Session (Debian libcgi-session-perl and friends) is here. In CI
 * (`CI=true`) its absence is a failure; elsewhere the tests skip with one line saying why.
 */
export function perlCgiSessionAvailable(): boolean {
  const probe = spawnSync('perl', ['-MCGI::Session', '-MJSON::Syck', '-MYAML::Syck', '-e1'], { encoding: 'utf8' });
  if (probe.status === 0) return true;
  const how = 'apt-get install libcgi-session-perl libdbd-pg-perl libdbd-mysql-perl libdbd-sqlite3-perl libjson-perl libyaml-syck-perl';
  if (process.env.CI === 'true' || process.env.CI === '1') {
    throw new Error(`CI: Perl CGI::Session is required for the Perl interoperability tests (${how})`);
  }
  process.stderr.write(`isosession tests: skipping Perl CGI::Session tests: perl -MCGI::Session fails (${how})\n`);
  return false;
}

export interface PerlRequest {
  op: 'new' | 'load' | 'delete' | 'find' | 'increment' | 'append' | 'rewrite';
  dsn: string;
  args?: Record<string, unknown>;
  sid?: string;
  set?: Record<string, unknown>;
  clear?: string[];
  expire?: string | number;
  expire_param?: Record<string, string | number>;
  remote_addr?: string;
  ip_match?: boolean;
  /** Give Perl the strings as UTF-8 bytes, as a CGI app that never decodes its input holds them. */
  bytes?: boolean;
  name?: string;
  times?: number;
  pause?: number;
  size?: number;
}

export interface PerlSessionReport {
  id: string | null;
  is_empty: number;
  is_expired: number;
  params: Record<string, unknown>;
  atime: number | string | null;
  ctime: number | string | null;
  etime: number | string | null;
  remote_addr: string | null;
}

/** Runs one CGI::Session operation in a Perl process and returns its JSON report. */
export function runPerl<T = PerlSessionReport>(request: PerlRequest, env: NodeJS.ProcessEnv = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile('perl', [SCRIPT, JSON.stringify(request)], { env: { ...process.env, ...env }, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`perl ${request.op} failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout) as T);
    });
  });
}

/**
 * Has Perl thaw each serialized text the way CGI::Session does and freeze it again with its own
 * serializer. A text Perl cannot read comes back as `ERROR <message>`.
 */
export function perlThawFreeze(serializer: string, texts: (string | Uint8Array)[]): Promise<(Buffer | string)[]> {
  return new Promise((resolve, reject) => {
    const child = execFile('perl', [SCRIPT, JSON.stringify({ op: 'thaw_freeze', serializer })], { maxBuffer: 256 << 20 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`perl thaw_freeze failed: ${stderr || error.message}`));
      resolve(stdout.split('\n').slice(0, texts.length).map((line) => (line.startsWith('ERROR') ? line : Buffer.from(line, 'base64'))));
    });
    for (const text of texts) child.stdin!.write(`${Buffer.from(text).toString('base64')}\n`);
    child.stdin!.end();
  });
}
