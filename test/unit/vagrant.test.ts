/**
 * The packaging files that have no daemon to run against here: vagrant/Vagrantfile
 * (`vagrant validate`, offline, with and without the vagrant-libvirt plugin) and
 * the systemd unit scripts/weft.service (`systemd-analyze verify`, offline).
 * A missing tool fails its test with a message: scripts/setup installs them.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const VAGRANT_DIR = path.join(ROOT, 'vagrant');
const UNIT = path.join(ROOT, 'scripts', 'weft.service');

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function needs(cmd: string, pkg: string): void {
  if (!has(cmd)) throw new Error(`${cmd} is not installed (Debian package ${pkg}); scripts/setup installs it`);
}

describe('vagrant/Vagrantfile', () => {
  let home: string;
  let dotfiles: string;
  beforeAll(() => {
    // a throw-away Vagrant home and machine-state folder: nothing lands in vagrant/.vagrant or ~/.vagrant.d
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-vagrant-home-'));
    dotfiles = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-vagrant-dot-'));
  });
  afterAll(() => {
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(dotfiles, { recursive: true, force: true });
  });

  function vagrant(args: string[], env: Record<string, string> = {}): { status: number | null; out: string } {
    const r = spawnSync('vagrant', args, {
      cwd: VAGRANT_DIR,
      encoding: 'utf8',
      timeout: 90_000,
      // no version check against HashiCorp's servers: this runs offline
      env: { ...process.env, VAGRANT_CHECKPOINT_DISABLE: '1', VAGRANT_HOME: home, VAGRANT_DOTFILE_PATH: dotfiles, ...env },
    });
    return { status: r.status, out: `${r.stdout}${r.stderr}${r.error ? r.error.message : ''}` };
  }

  test('validates with no plugin and no provider installed (vagrant validate --ignore-provider)', () => {
    needs('vagrant', 'vagrant');
    const r = vagrant(['validate', '--ignore-provider'], { VAGRANT_NO_PLUGINS: '1' });
    expect(r.out).toContain('validated successfully');
    expect(r.status).toBe(0);
  }, 120_000);

  test('validates with its libvirt settings checked by vagrant-libvirt (vagrant validate)', () => {
    needs('vagrant', 'vagrant');
    const plugins = vagrant(['plugin', 'list']).out;
    if (!plugins.includes('vagrant-libvirt')) {
      throw new Error(`vagrant-libvirt is not installed (Debian package vagrant-libvirt, which apt installs with vagrant as a recommended package, as scripts/setup does); vagrant plugin list: ${plugins.trim()}`);
    }
    const r = vagrant(['validate'], { VAGRANT_DEFAULT_PROVIDER: 'libvirt' });
    expect(r.out).toContain('validated successfully');
    expect(r.status).toBe(0);
  }, 120_000);
});

describe('scripts/weft.service', () => {
  const unit = fs.readFileSync(UNIT, 'utf8');

  test('systemd-analyze verify finds nothing to say (paths pointed at this checkout)', () => {
    needs('systemd-analyze', 'systemd');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'weft-unit-'));
    try {
      // verify checks that ExecStart's program exists: point it at this checkout's bin/weft
      const file = path.join(dir, 'weft.service');
      fs.writeFileSync(file, unit.replaceAll('/opt/weft', ROOT));
      const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 60_000 });
      // bad settings are only warnings (exit 0): any output is a failure
      expect(`${r.stderr}${r.stdout}`.trim()).toBe('');
      expect(r.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test('runs weft in the foreground after Docker, restarts it on failure, and stops it keeping its devices', () => {
    const line = (key: string): string[] => unit.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
    expect(line('Type')).toEqual(['simple']);
    expect(line('ExecStart')).toEqual(['/opt/weft/bin/weft launch --foreground $WEFT_OPTS $WEFT_PEERS']);
    expect(line('ExecStop')).toEqual(['/opt/weft/bin/weft stop --keep']);
    expect(line('EnvironmentFile')).toEqual(['-/etc/default/weft']);
    expect(line('Restart')).toEqual(['on-failure']);
    expect(line('After').join(' ')).toContain('docker.service');
    expect(line('Wants').join(' ')).toContain('docker.service');
  });
});
