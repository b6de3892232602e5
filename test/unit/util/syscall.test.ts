import { errnoOf, SyscallError } from '../../../src/util/syscall';

describe('errnoOf', () => {
  test.each([
    ['Operation not permitted', 1, 'EPERM'],
    ['Interrupted system call', 4, 'EINTR'],
    ['Bad file descriptor', 9, 'EBADF'],
    ['Resource temporarily unavailable', 11, 'EAGAIN'],
    ['Invalid argument', 22, 'EINVAL'],
    ['Inappropriate ioctl for device', 25, 'ENOTTY'],
    ['No buffer space available', 105, 'ENOBUFS'],
  ])('%s is %i (%s)', (text, errno, name) => {
    expect(errnoOf(text)).toEqual({ errno, name });
  });

  test('an unknown text is errno 0', () => {
    expect(errnoOf('Something odd')).toEqual({ errno: 0 });
  });
});

describe('SyscallError', () => {
  test('names the call, the target, the text and the errno name, and keeps the numbers', () => {
    const e = new SyscallError('setns', '/run/netns/x', 'Operation not permitted', 'CAP_SYS_ADMIN is needed');
    expect(e.message).toBe('setns /run/netns/x: Operation not permitted (EPERM; CAP_SYS_ADMIN is needed)');
    expect(e).toMatchObject({ name: 'SyscallError', call: 'setns', target: '/run/netns/x', errno: 1, code: 'EPERM' });
    expect(e).toBeInstanceOf(Error);
  });

  test('an unknown text keeps its words, errno 0', () => {
    const e = new SyscallError('mount', '/x', 'Weird failure');
    expect(e.message).toBe('mount /x: Weird failure');
    expect(e).toMatchObject({ errno: 0, code: undefined });
  });
});
