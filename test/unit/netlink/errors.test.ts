import { NetlinkError, errnoOf, isNetlinkError } from '../../../src/netlink/errors';

describe('NetlinkError', () => {
  test('from a kernel errno (either sign): code, errno, operation in the message', () => {
    const e = NetlinkError.fromErrno(-17, 'create bridge weft-abc');
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ name: 'NetlinkError', code: 'EEXIST', errno: 17, op: 'create bridge weft-abc' });
    expect(e.message).toBe('create bridge weft-abc: EEXIST (File exists)');
    expect(NetlinkError.fromErrno(19, 'x').code).toBe('ENODEV');
  });

  test.each([
    [1, 'EPERM'], [2, 'ENOENT'], [3, 'ESRCH'], [16, 'EBUSY'], [17, 'EEXIST'], [19, 'ENODEV'], [22, 'EINVAL'],
    [34, 'ERANGE'], [95, 'EOPNOTSUPP'], [99, 'EADDRNOTAVAIL'],
  ])('errno %i is %s, both ways', (errno, code) => {
    expect(NetlinkError.fromErrno(errno, 'op').code).toBe(code);
    expect(errnoOf(code as Parameters<typeof errnoOf>[0])).toBe(errno);
  });

  test('other errnos are EUNKNOWN but keep the errno and a readable text', () => {
    const down = NetlinkError.fromErrno(100, 'add route 10.0.0.0/8 dev br0');
    expect(down).toMatchObject({ code: 'EUNKNOWN', errno: 100 });
    expect(down.message).toBe('add route 10.0.0.0/8 dev br0: EUNKNOWN (Network is down (ENETDOWN))');
    expect(NetlinkError.fromErrno(4242, 'op').message).toBe('op: EUNKNOWN (errno 4242)');
  });

  test('a detail replaces the strerror text; of() uses the standard errno', () => {
    const e = NetlinkError.of('ENODEV', 'set link v0', 'No such device: br9');
    expect(e).toMatchObject({ code: 'ENODEV', errno: 19 });
    expect(e.message).toBe('set link v0: ENODEV (No such device: br9)');
  });

  test('isNetlinkError narrows, optionally by code', () => {
    const e: unknown = NetlinkError.of('EBUSY', 'op');
    expect(isNetlinkError(e)).toBe(true);
    expect(isNetlinkError(e, 'EEXIST', 'EBUSY')).toBe(true);
    expect(isNetlinkError(e, 'EEXIST')).toBe(false);
    expect(isNetlinkError(new Error('x'))).toBe(false);
  });
});
