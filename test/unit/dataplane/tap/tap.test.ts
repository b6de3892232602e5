/** openTap and the native wrapper, against a stand-in for the addon (the real one is in test/kernel/tap.test.ts) */
const fake = {
  open: jest.fn(),
  start: jest.fn(),
  write: jest.fn(),
  stats: jest.fn(),
  recycle: jest.fn(),
  close: jest.fn(),
};
jest.mock('weft-tap', () => fake, { virtual: true });

import { TapError } from '../../../../src/dataplane/tap/errors';
import { openTap, TAP_GSO_MAX_SIZE } from '../../../../src/dataplane/tap/tap';

const nativeError = (code: string, message: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { code, ...extra });

function openError(e: Error): TapError {
  fake.open.mockImplementationOnce(() => {
    throw e;
  });
  try {
    openTap('wt0');
  } catch (err) {
    expect(err).toBeInstanceOf(TapError);
    return err as TapError;
  }
  throw new Error('openTap did not throw');
}

beforeEach(() => {
  for (const f of Object.values(fake)) f.mockReset();
  fake.open.mockImplementation((name: string) => ({ handle: { h: name }, name: name || 'tap0' }));
  fake.stats.mockReturnValue({ framesIn: 1, bytesIn: 2, framesOut: 3, bytesOut: 4, dropsOut: 5, batches: 6, readErrors: 7, oneOffBatches: 8 });
});

describe('openTap', () => {
  test('a name over 15 bytes is refused before the addon is asked', () => {
    expect(() => openTap('a-sixteen-bytes!')).toThrow(
      expect.objectContaining({ code: 'ENAMETOOLONG', message: expect.stringMatching(/is 16 bytes; .* at most 15/) }),
    );
    // bytes, not characters: 8 two-byte characters
    expect(() => openTap('éééééééé')).toThrow(expect.objectContaining({ code: 'ENAMETOOLONG' }));
    expect(fake.open).not.toHaveBeenCalled();
    expect(openTap('fifteen-bytes-x').name).toBe('fifteen-bytes-x');
  });

  test('the name is the one the kernel gave back', () => {
    expect(openTap('').name).toBe('tap0');
  });

  test('virtio-net headers and offloads unless asked otherwise; what the kernel agreed to is kept', () => {
    fake.open.mockImplementation((name: string, vnet: boolean) => ({
      handle: { h: name }, name, vnetHdr: vnet ? 10 : 0, offloads: vnet ? 0x6f : 0,
    }));
    const t = openTap('wt-v');
    expect(fake.open).toHaveBeenLastCalledWith('wt-v', true);
    expect(t.vnetHdr).toBe(10);
    expect(t.offloads).toEqual({ flags: 0x6f });
    const p = openTap('wt-p', { vnetHdr: false });
    expect(fake.open).toHaveBeenLastCalledWith('wt-p', false);
    expect(p.vnetHdr).toBe(0);
    expect(p.offloads).toEqual({ flags: 0 });
  });

  test('TAP_GSO_MAX_SIZE: the largest GSO packet whose virtio-net header + frame fit a u16 length', () => {
    expect(TAP_GSO_MAX_SIZE).toBe(65535 - 10);
  });

  test('no /dev/net/tun', () => {
    const e = openError(nativeError('ENOENT', 'open /dev/net/tun: No such file or directory', { errno: 2, syscall: 'open' }));
    expect(e).toMatchObject({ code: 'ENOTUN', errno: 2 });
    expect(e.message).toMatch(/^no \/dev\/net\/tun \(open \/dev\/net\/tun: No such file or directory\): load the tun module/);
    expect(openError(nativeError('ENODEV', 'open /dev/net/tun: No such device', { errno: 19, syscall: 'open' })).code).toBe('ENOTUN');
  });

  test('EPERM and EACCES: needs CAP_NET_ADMIN', () => {
    const e = openError(nativeError('EPERM', 'TUNSETIFF wt0: Operation not permitted', { errno: 1, syscall: 'ioctl' }));
    expect(e).toMatchObject({ code: 'EPERM', errno: 1 });
    expect(e.message).toBe('EPERM: opening TAP "wt0" needs CAP_NET_ADMIN (TUNSETIFF wt0: Operation not permitted)');
    expect(openError(nativeError('EACCES', 'open /dev/net/tun: Permission denied', { errno: 13, syscall: 'open' })).code).toBe('EPERM');
  });

  test('EBUSY, EINVAL, and anything else', () => {
    expect(openError(nativeError('EBUSY', 'x', { errno: 16, syscall: 'ioctl' })).message).toMatch(/another process has it open/);
    expect(openError(nativeError('EINVAL', 'x', { errno: 22, syscall: 'ioctl' })).message).toMatch(
      /not a valid interface name, or a device that is not a TAP has it/,
    );
    expect(openError(nativeError('EMFILE', 'x', { errno: 24, syscall: 'open' }))).toMatchObject({ code: 'EUNKNOWN', errno: 24 });
  });
});

describe('the native TapDevice', () => {
  test('passes start, write, recycle, stats, close through to the addon', () => {
    const t = openTap('wt1');
    const handle = fake.open.mock.results[0].value.handle;
    const got: Array<[Buffer, number]> = [];
    t.start((packed, count) => got.push([packed, count]));
    expect(fake.start).toHaveBeenCalledWith(handle, expect.any(Function));
    // the addon's batch: a reused buffer of which the first `length` bytes count, or a one-off of exactly that
    const deliver = fake.start.mock.calls[0][1] as (buffer: Buffer, count: number, length: number) => void;
    const slot = Buffer.from('0001aa0001bbffffffff', 'hex');
    deliver(slot, 2, 6);
    const oneOff = Buffer.from('0001cc', 'hex');
    deliver(oneOff, 1, 3);
    expect(got).toEqual([[Buffer.from('0001aa0001bb', 'hex'), 2], [oneOff, 1]]);
    expect(got[0][0].buffer).toBe(slot.buffer); // a view, not a copy
    expect(got[1][0]).toBe(oneOff);
    t.recycle();
    expect(fake.recycle).toHaveBeenCalledWith(handle);
    fake.write.mockReturnValueOnce(3);
    const p = Buffer.from('0001aa', 'hex');
    expect(t.write(p)).toBe(3);
    expect(fake.write).toHaveBeenCalledWith(handle, p);
    expect(t.stats()).toEqual({ framesIn: 1, bytesIn: 2, framesOut: 3, bytesOut: 4, dropsOut: 5, batches: 6, oneOffBatches: 8 });
    t.close();
    t.close();
    expect(fake.close).toHaveBeenCalledTimes(1);
    t.recycle(); // after close: nothing to give back, and no call into a closed handle
    expect(fake.recycle).toHaveBeenCalledTimes(1);
  });

  test('a malformed batch is a TapError EMALFORMED', () => {
    const t = openTap('wt2');
    fake.write.mockImplementationOnce(() => {
      throw nativeError('EMALFORMED', 'weft-tap: write: malformed packed batch: frame 0 at offset 0 claims 9 bytes, only 1 remain');
    });
    expect(() => t.write(Buffer.from('000901', 'hex'))).toThrow(
      expect.objectContaining({ name: 'TapError', code: 'EMALFORMED', message: expect.stringMatching(/^TAP wt2: .*claims 9 bytes/) }),
    );
  });

  test('start twice is EALREADY; use after close is ECLOSED; stats still work', () => {
    const t = openTap('wt3');
    t.start(() => undefined);
    expect(() => t.start(() => undefined)).toThrow(expect.objectContaining({ code: 'EALREADY' }));
    t.close();
    expect(() => t.write(Buffer.alloc(0))).toThrow(expect.objectContaining({ code: 'ECLOSED' }));
    expect(() => t.start(() => undefined)).toThrow(expect.objectContaining({ code: 'ECLOSED' }));
    expect(t.stats().batches).toBe(6);
    expect(fake.write).not.toHaveBeenCalled();
  });
});
